// /proc/PID/maps parsing and demangling.
#include <gtest/gtest.h>

#include <sstream>

#include "symbols/demangle.hpp"
#include "symbols/proc_maps.hpp"

namespace loopprof {
namespace {

TEST(ProcMaps, ParsesFileAnonymousDeletedAndSpacedPaths) {
  std::istringstream in(
      "7f00a0000000-7f00a0021000 r-xp 00002000 fd:01 1234567                    "
      "/usr/lib/x86_64-linux-gnu/libc.so.6\n"
      "7f00a1000000-7f00a1001000 rw-p 00000000 00:00 0 \n"
      "55d000000000-55d000001000 r-xp 00001000 08:02 42      /tmp/my app (deleted)\n"
      "7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]\n");
  Mappings maps = parse_proc_maps(in);
  ASSERT_EQ(maps.size(), 4u);
  // Sorted by start.
  const Mapping& app = maps[0];
  EXPECT_EQ(app.path, "/tmp/my app");
  EXPECT_TRUE(app.deleted);
  EXPECT_EQ(app.dev_major, 8u);
  EXPECT_EQ(app.dev_minor, 2u);
  EXPECT_EQ(app.inode, 42u);
  EXPECT_TRUE(app.file_backed());

  const Mapping& libc = maps[1];
  EXPECT_EQ(libc.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  EXPECT_FALSE(libc.deleted);
  EXPECT_TRUE(libc.executable);
  EXPECT_EQ(libc.dev_major, 0xfdu);
  EXPECT_EQ(libc.file_offset_of(0x7f00a0000010), 0x2010u);

  EXPECT_EQ(maps[2].path, "");
  EXPECT_FALSE(maps[2].executable);
  EXPECT_FALSE(maps[2].file_backed());
  EXPECT_TRUE(maps[3].vdso());

  EXPECT_EQ(find_mapping(maps, 0x7f00a0000000), &maps[1]);
  EXPECT_EQ(find_mapping(maps, 0x7f00a0020fff), &maps[1]);
  EXPECT_EQ(find_mapping(maps, 0x7f00a0021000), nullptr);  // end is exclusive
  EXPECT_EQ(find_mapping(maps, 0x1000), nullptr);
}

TEST(Demangle, ItaniumNamesBecomeReadable) {
  EXPECT_EQ(demangle("_ZN6shapes6Circle4areaEd"), "shapes::Circle::area(double)");
  EXPECT_EQ(demangle("_ZL17sym_static_helperi"), "sym_static_helper(int)");
  EXPECT_EQ(demangle("main"), "main");
  EXPECT_EQ(demangle("_Znot_valid"), "_Znot_valid");
}

}  // namespace
}  // namespace loopprof
