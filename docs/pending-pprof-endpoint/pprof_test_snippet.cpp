  // The stall stacks of the last minute as a pprof profile, read by go tool pprof.
  if (has_program("go")) {
    auto res = agent.get("/debug/pprof/stalls?seconds=60");
    ASSERT_TRUE(res && res->status == 200) << (res ? res->body : "no answer");
    std::ofstream(dir.file("stalls.pb.gz"), std::ios::binary) << res->body;
    std::string raw_path = dir.file("stalls.raw");
    ASSERT_EQ(std::system(("HOME=" + dir.path().string() + " go tool pprof -raw " +
                           dir.file("stalls.pb.gz") + " > " + raw_path + " 2>&1")
                              .c_str()),
              0)
        << read_file_text(raw_path);
    std::string raw = read_file_text(raw_path);
    EXPECT_NE(raw.find("stall_time/nanoseconds"), std::string::npos) << raw;
    EXPECT_NE(raw.find(late_pid), std::string::npos) << raw;
    EXPECT_NE(raw.find("lock"), std::string::npos) << raw;
    EXPECT_NE(raw.find("burn_cpu"), std::string::npos) << raw;
  }
