# Sourced by the bench scripts once WORK (a temporary directory) exists: the
# processes in KIDS are killed and WORK is removed however the script ends.
KIDS=()
cleanup() {
  local p
  for p in "${KIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
