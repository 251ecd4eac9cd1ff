#include "output/flame_tree.hpp"

#include <algorithm>

namespace loopprof {

FlameTree::FlameTree() : nodes_(1) {}

uint32_t FlameTree::child(uint32_t parent, uint32_t frame) {
  uint64_t key = static_cast<uint64_t>(parent) << 32 | frame;
  auto [it, inserted] = children_.try_emplace(key, static_cast<uint32_t>(nodes_.size()));
  if (inserted) nodes_.push_back({frame, parent, nodes_[parent].depth + 1, 0});
  return it->second;
}

uint32_t FlameTree::add(std::span<const uint32_t> frames, uint64_t weight) {
  size_t same = 0;
  while (same < frames.size() && same < last_frames_.size() && frames[same] == last_frames_[same])
    ++same;
  last_frames_.assign(frames.begin(), frames.end());
  last_path_.resize(same);
  uint32_t node = same == 0 ? 0 : last_path_[same - 1];
  for (size_t i = same; i < frames.size(); ++i) {
    node = child(node, frames[i]);
    last_path_.push_back(node);
  }
  nodes_[node].weight += weight;
  return node;
}

void FlameTree::finish() {
  const size_t n = nodes_.size();
  // A child is always created after its parent: sum the weights upwards.
  for (size_t i = n - 1; i > 0; --i) nodes_[nodes_[i].parent].weight += nodes_[i].weight;
  // Children of p: kids[first[p] .. first[p + 1]), in creation order.
  std::vector<uint32_t> first(n + 1, 0), kids(n > 0 ? n - 1 : 0);
  for (size_t i = 1; i < n; ++i) ++first[nodes_[i].parent + 1];
  for (size_t i = 0; i < n; ++i) first[i + 1] += first[i];
  std::vector<uint32_t> next(first.begin(), first.end() - 1);
  for (uint32_t i = 1; i < n; ++i) kids[next[nodes_[i].parent]++] = i;
  order_.clear();
  order_.reserve(n);
  preorder_.assign(n, 0);
  std::vector<uint32_t> stack = {0};
  while (!stack.empty()) {
    uint32_t node = stack.back();
    stack.pop_back();
    preorder_[node] = static_cast<uint32_t>(order_.size());
    order_.push_back(node);
    auto begin = kids.begin() + first[node], end = kids.begin() + first[node + 1];
    std::stable_sort(begin, end,
                     [&](uint32_t a, uint32_t b) { return nodes_[a].weight > nodes_[b].weight; });
    // Pushed lightest first, so the heaviest comes out next.
    for (auto it = end; it != begin;) stack.push_back(*--it);
  }
  children_.clear();
}

}  // namespace loopprof
