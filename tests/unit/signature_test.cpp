#include <gtest/gtest.h>
#include <sys/stat.h>

#include "rookery/catalog/signature.hpp"
#include "rookery/common/error.hpp"
#include "test_support.hpp"

using namespace rookery;
using catalog::release_message;

class Signature : public ::testing::Test {
 protected:
  void SetUp() override { catalog::generate_signing_key(key(), pub()); }
  std::filesystem::path key() const { return dir.path() / "origin.key"; }
  std::filesystem::path pub() const { return dir.path() / "origin.key.pub"; }
  test::TempDir dir;
};

TEST_F(Signature, PrivateKeyIsOwnerOnly) {
  struct stat st;
  ASSERT_EQ(::stat(key().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_THROW(catalog::generate_signing_key(key(), pub()), UserError);  // never overwrites a key
}

TEST_F(Signature, VerifiesWhatWasSigned) {
  auto message = release_message("1.4.2", std::string(40, 'a'), std::string(64, 'b'));
  auto sig = catalog::sign_release(key(), message);
  EXPECT_EQ(sig.size(), 129u);  // 64 bytes in hex and a newline
  EXPECT_TRUE(catalog::verify_release(pub(), message, sig));
}

TEST_F(Signature, RefusesAnotherVersionHashOrKey) {
  auto sig = catalog::sign_release(key(), release_message("1.4.2", std::string(40, 'a'), ""));
  EXPECT_FALSE(catalog::verify_release(pub(), release_message("1.4.3", std::string(40, 'a'), ""), sig));
  EXPECT_FALSE(catalog::verify_release(pub(), release_message("1.4.2", std::string(40, 'c'), ""), sig));
  auto tampered = sig;
  tampered[0] = tampered[0] == '0' ? '1' : '0';
  EXPECT_FALSE(catalog::verify_release(pub(), release_message("1.4.2", std::string(40, 'a'), ""), tampered));
  EXPECT_FALSE(catalog::verify_release(pub(), release_message("1.4.2", std::string(40, 'a'), ""), "garbage"));
  catalog::generate_signing_key(dir.path() / "other.key", dir.path() / "other.key.pub");
  EXPECT_FALSE(catalog::verify_release(dir.path() / "other.key.pub", release_message("1.4.2", std::string(40, 'a'), ""), sig));
}

TEST_F(Signature, UnusableKeyIsAClearError) {
  test::write_text(dir.path() / "bad.pub", "not a key");
  try {
    catalog::verify_release(dir.path() / "bad.pub", "m", "00");
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("not an Ed25519 public key"), std::string::npos);
  }
}
