// FlameTree: stacks merged by path, numbered in preorder with the heaviest
// child first, so the HTML page reads the tree as (depth, frame) per node.
#include "output/flame_tree.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace loopprof {
namespace {

// "depth:frame" per node in preorder.
std::vector<std::string> layout(const FlameTree& tree) {
  std::vector<std::string> out;
  for (size_t i = 0; i < tree.size(); ++i)
    out.push_back(std::to_string(tree.depth(i)) + ":" + std::to_string(tree.frame(i)));
  return out;
}

TEST(FlameTree, MergesSharedPrefixesAndOrdersChildrenHeaviestFirst) {
  FlameTree tree;
  std::vector<uint32_t> a = {1, 2, 3}, b = {1, 4}, c = {1, 2, 5}, d = {6}, e = {1, 2, 3};
  uint32_t na = tree.add(a, 10);
  uint32_t nb = tree.add(b, 40);
  uint32_t nc = tree.add(c, 20);
  uint32_t nd = tree.add(d, 5);
  uint32_t ne = tree.add(e, 1);  // the same stack again: the same node
  EXPECT_EQ(na, ne);
  tree.finish();
  // root; 1 (71) { 4 (40), 2 (31) { 5 (20), 3 (11) } }; 6 (5)
  EXPECT_EQ(layout(tree),
            (std::vector<std::string>{"0:0", "1:1", "2:4", "2:2", "3:5", "3:3", "1:6"}));
  EXPECT_EQ(tree.preorder_id(nb), 2u);
  EXPECT_EQ(tree.preorder_id(nc), 4u);
  EXPECT_EQ(tree.preorder_id(na), 5u);
  EXPECT_EQ(tree.preorder_id(nd), 6u);
}

TEST(FlameTree, EqualWeightsKeepTheOrderTheyWereAddedIn) {
  FlameTree tree;
  std::vector<uint32_t> x = {9}, y = {3}, z = {7};
  tree.add(x, 5);
  tree.add(y, 5);
  tree.add(z, 5);
  tree.finish();
  EXPECT_EQ(layout(tree), (std::vector<std::string>{"0:0", "1:9", "1:3", "1:7"}));
}

}  // namespace
}  // namespace loopprof
