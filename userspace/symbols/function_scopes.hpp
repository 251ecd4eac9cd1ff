// The function scopes of one DWARF compile unit (out-of-line functions and
// the inlined calls inside them), walked once and indexed by address:
// dwarf_getscopes walks the whole unit again on every call.
#pragma once

#include <elfutils/libdw.h>

#include <cstdint>
#include <vector>

namespace loopprof {

class FunctionScopes {
 public:
  explicit FunctionScopes(Dwarf_Die cu);

  // The DW_TAG_subprogram holding `pc` followed by the
  // DW_TAG_inlined_subroutine DIEs nested in it down to the innermost one
  // holding `pc` (outermost first). Empty when no function holds `pc`.
  std::vector<Dwarf_Die> chain(uint64_t pc) const;

 private:
  struct Scope {
    Dwarf_Die die;
    int32_t parent;         // index in scopes_, -1 for an out-of-line function
    uint32_t subtree_end;   // one past the last scope nested in this one
    uint32_t ranges_begin;  // [ranges_begin, ranges_end) in ranges_
    uint32_t ranges_end;
  };
  struct Range {
    uint64_t low;
    uint64_t high;  // exclusive
  };
  struct Root {
    uint64_t low;
    uint64_t high;
    uint32_t scope;
  };

  void visit_children(Dwarf_Die* parent_die, int32_t parent_scope);
  bool contains(const Scope& scope, uint64_t pc) const;

  std::vector<Scope> scopes_;  // preorder
  std::vector<Range> ranges_;
  std::vector<Root> roots_;  // ranges of out-of-line functions, sorted by low
};

}  // namespace loopprof
