#include "symbols/function_scopes.hpp"

#include <dwarf.h>

#include <algorithm>

namespace loopprof {

namespace {

// DIEs whose children may hold function scopes (types are skipped: they are
// most of a C++ unit and hold only declarations).
bool may_hold_functions(int tag) {
  switch (tag) {
    case DW_TAG_subprogram:
    case DW_TAG_inlined_subroutine:
    case DW_TAG_lexical_block:
    case DW_TAG_namespace:
    case DW_TAG_try_block:
    case DW_TAG_catch_block:
    case DW_TAG_module:
      return true;
    default:
      return false;
  }
}

}  // namespace

FunctionScopes::FunctionScopes(Dwarf_Die cu) {
  visit_children(&cu, -1);
  std::sort(roots_.begin(), roots_.end(),
            [](const Root& a, const Root& b) { return a.low < b.low; });
}

void FunctionScopes::visit_children(Dwarf_Die* parent_die, int32_t parent_scope) {
  Dwarf_Die child;
  if (dwarf_child(parent_die, &child) != 0) return;
  do {
    int tag = dwarf_tag(&child);
    if (!may_hold_functions(tag)) continue;
    if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine) {
      visit_children(&child, parent_scope);
      continue;
    }
    Scope scope{child, parent_scope, 0, static_cast<uint32_t>(ranges_.size()), 0};
    Dwarf_Addr base = 0, low = 0, high = 0;
    for (ptrdiff_t offset = 0; (offset = dwarf_ranges(&child, offset, &base, &low, &high)) > 0;) {
      if (high > low) ranges_.push_back(Range{low, high});
    }
    scope.ranges_end = static_cast<uint32_t>(ranges_.size());
    if (scope.ranges_begin == scope.ranges_end) {
      // An abstract or declared-only function: no code of its own, but an
      // out-of-line function may still be nested in it (C nested functions).
      if (tag == DW_TAG_subprogram) visit_children(&child, parent_scope);
      continue;
    }
    const auto index = static_cast<int32_t>(scopes_.size());
    scopes_.push_back(scope);
    if (parent_scope < 0) {
      for (uint32_t r = scope.ranges_begin; r < scope.ranges_end; ++r)
        roots_.push_back(Root{ranges_[r].low, ranges_[r].high, static_cast<uint32_t>(index)});
    }
    visit_children(&child, index);
    scopes_[index].subtree_end = static_cast<uint32_t>(scopes_.size());
  } while (dwarf_siblingof(&child, &child) == 0);
}

bool FunctionScopes::contains(const Scope& scope, uint64_t pc) const {
  for (uint32_t r = scope.ranges_begin; r < scope.ranges_end; ++r) {
    if (pc >= ranges_[r].low && pc < ranges_[r].high) return true;
  }
  return false;
}

std::vector<Dwarf_Die> FunctionScopes::chain(uint64_t pc) const {
  auto it = std::upper_bound(roots_.begin(), roots_.end(), pc,
                             [](uint64_t a, const Root& r) { return a < r.low; });
  if (it == roots_.begin()) return {};
  --it;
  if (pc >= it->high) return {};
  // In preorder, nested scopes follow their parent and siblings do not
  // overlap: the last scope holding pc is the innermost one.
  uint32_t innermost = it->scope;
  for (uint32_t i = it->scope + 1; i < scopes_[it->scope].subtree_end; ++i) {
    if (contains(scopes_[i], pc)) innermost = i;
  }
  std::vector<Dwarf_Die> chain;
  for (int32_t i = static_cast<int32_t>(innermost); i >= 0; i = scopes_[i].parent)
    chain.push_back(scopes_[i].die);
  std::reverse(chain.begin(), chain.end());
  return chain;
}

}  // namespace loopprof
