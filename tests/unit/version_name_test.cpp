#include <gtest/gtest.h>

#include "rookery/common/version_name.hpp"

using rookery::is_valid_version_name;

TEST(VersionName, AcceptsReleaseStyleNames) {
  EXPECT_TRUE(is_valid_version_name("1.4.2"));
  EXPECT_TRUE(is_valid_version_name("myapp-2026_11_21.rc1"));
  EXPECT_TRUE(is_valid_version_name(std::string(128, 'a')));
  EXPECT_TRUE(is_valid_version_name("..."));
}

TEST(VersionName, RejectsPathsAndOddCharacters) {
  EXPECT_FALSE(is_valid_version_name(""));
  EXPECT_FALSE(is_valid_version_name("."));
  EXPECT_FALSE(is_valid_version_name(".."));
  EXPECT_FALSE(is_valid_version_name("a/b"));
  EXPECT_FALSE(is_valid_version_name("1.0 beta"));
  EXPECT_FALSE(is_valid_version_name(std::string("a\0b", 3)));
  EXPECT_FALSE(is_valid_version_name("ünïcode"));
  EXPECT_FALSE(is_valid_version_name(std::string(129, 'a')));
}
