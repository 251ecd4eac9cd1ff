// Weighted stacks merged into one tree of frames, as a flame graph draws it:
// a node per distinct path from the root, its weight the sum of the stacks
// through it. finish() numbers the nodes in preorder with each node's
// children heaviest first, so a reader rebuilds the tree from (depth, frame)
// per node and lays it out without sorting. Frames are ids (the caller's
// frame table).
#pragma once

#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace loopprof {

class FlameTree {
 public:
  FlameTree();

  // Adds a stack (frame ids, root first) with its weight; returns its node
  // (valid after finish() through preorder_id()).
  uint32_t add(std::span<const uint32_t> frames, uint64_t weight);

  // Numbers the nodes in preorder, children heaviest first (ties: the first
  // added first). Call once, after the last add().
  void finish();

  // After finish(): node 0 is the root (depth 0, no frame); node i > 0 has
  // depth(i) >= 1 and frame(i), its parent the last node before it one
  // level up.
  size_t size() const { return order_.size(); }
  uint32_t frame(size_t preorder) const { return nodes_[order_[preorder]].frame; }
  uint32_t depth(size_t preorder) const { return nodes_[order_[preorder]].depth; }
  uint32_t preorder_id(uint32_t node) const { return preorder_[node]; }

 private:
  struct Node {
    uint32_t frame = 0;
    uint32_t parent = 0;
    uint32_t depth = 0;
    uint64_t weight = 0;  // own weight, then (finish) the subtree's
  };
  uint32_t child(uint32_t parent, uint32_t frame);

  std::vector<Node> nodes_;
  std::unordered_map<uint64_t, uint32_t> children_;  // parent << 32 | frame -> node
  // The previous stack's frames and nodes: stacks often share a prefix.
  std::vector<uint32_t> last_frames_, last_path_;
  std::vector<uint32_t> order_;     // preorder position -> node
  std::vector<uint32_t> preorder_;  // node -> preorder position
};

}  // namespace loopprof
