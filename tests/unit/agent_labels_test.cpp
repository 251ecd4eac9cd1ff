#include <gtest/gtest.h>

#include "agent/process_labels.hpp"
#include "agent/runtime_label.hpp"
#include "agent/selector.hpp"

namespace loopprof::agent {
namespace {

TEST(ServiceLabel, SystemdUnitFromCgroupV2) {
  EXPECT_EQ(service_from_cgroup("0::/system.slice/shop-api.service\n"), "shop-api.service");
  EXPECT_EQ(service_from_cgroup("0::/user.slice/user-1000.slice/user@1000.service/app.slice/"
                                "web.service\n"),
            "web.service");
}

TEST(ServiceLabel, ContainerIdFromCgroup) {
  std::string id(64, 'a');
  id.replace(0, 6, "0123ab");
  EXPECT_EQ(service_from_cgroup("0::/system.slice/docker-" + id + ".scope\n"), "0123abaaaaaa");
  EXPECT_EQ(service_from_cgroup("0::/kubepods/besteffort/pod1/" + id + "\n"), "0123abaaaaaa");
  EXPECT_EQ(
      service_from_cgroup("12:memory:/docker/" + id + "\n1:name=systemd:/docker/" + id + "\n"),
      "0123abaaaaaa");
}

TEST(ServiceLabel, NoneForSessionsAndRoot) {
  EXPECT_EQ(service_from_cgroup("0::/\n"), "");
  EXPECT_EQ(service_from_cgroup("0::/user.slice/user-0.slice/session-3.scope\n"), "");
}

TEST(ServiceLabel, ScriptOrBinaryFromArgv) {
  EXPECT_EQ(service_from_argv({"/usr/bin/python3", "-u", "/srv/app/server.py", "--token", "x"}),
            "server.py");
  EXPECT_EQ(service_from_argv({"python3.11", "-m", "uvicorn", "main:app"}), "uvicorn");
  EXPECT_EQ(service_from_argv({"node", "--perf-basic-prof", "/srv/index.js"}), "index.js");
  EXPECT_EQ(service_from_argv({"/usr/bin/redis-server", "*:6379"}), "redis-server");
  EXPECT_EQ(service_from_argv({"python3", "-c", "import secret"}), "python3");
  EXPECT_EQ(service_from_argv({}), "");
}

TEST(RuntimeLabel, NodeMajorFromLibnodeOrPath) {
  EXPECT_EQ(
      native_runtime_label("/usr/bin/node",
                           "7f00-7f10 r-xp 0 08:01 5 /usr/lib/x86_64-linux-gnu/libnode.so.108\n"),
      "node-18");
  EXPECT_EQ(native_runtime_label("/opt/node-v20.11.0-linux-x64/bin/node", ""), "node-20");
  EXPECT_EQ(native_runtime_label("/usr/bin/node", ""), "node");
  EXPECT_EQ(native_runtime_label("/usr/bin/redis-server", ""), "native");
}

TEST(Selector, PidsMatchAndCgroupAllMustHold) {
  auto selector = ProcessSelector::make({}, "python|node", "/sys/fs/cgroup/system.slice");
  ASSERT_TRUE(selector.ok());
  EXPECT_TRUE(selector->matches({1, "/usr/bin/python3 app.py", "0::/system.slice/app.service\n"}));
  EXPECT_FALSE(selector->matches({1, "/usr/bin/ruby app.rb", "0::/system.slice/app.service\n"}));
  EXPECT_FALSE(selector->matches({1, "/usr/bin/python3 app.py", "0::/system.slice2/x.service\n"}));
  EXPECT_FALSE(selector->matches({1, "/usr/bin/python3 app.py", "0::/user.slice\n"}));
  EXPECT_FALSE(selector->pids_only());
  auto pids = ProcessSelector::make({7, 9}, "", "");
  ASSERT_TRUE(pids.ok());
  EXPECT_TRUE(pids->pids_only());
  EXPECT_TRUE(pids->matches({9, "x", ""}));
  EXPECT_FALSE(pids->matches({8, "x", ""}));
}

TEST(Selector, BadRegexIsAClearError) {
  auto selector = ProcessSelector::make({}, "python(", "");
  ASSERT_FALSE(selector.ok());
  EXPECT_NE(selector.error().message.find("--match"), std::string::npos);
}

TEST(Selector, CgroupPaths) {
  EXPECT_EQ(normalize_cgroup_path("/sys/fs/cgroup/system.slice/x.service/"),
            "/system.slice/x.service");
  EXPECT_EQ(normalize_cgroup_path("system.slice"), "/system.slice");
  EXPECT_TRUE(cgroup_under("/system.slice/x.service", "/system.slice"));
  EXPECT_FALSE(cgroup_under("/system.slicex", "/system.slice"));
  EXPECT_TRUE(cgroup_under("/anything", "/"));
}

}  // namespace
}  // namespace loopprof::agent
