#include "rookery/catalog/signature.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

#include "rookery/common/error.hpp"

namespace rookery::catalog {
namespace {

using Key = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using MdContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

std::string openssl_error() {
  char buf[256] = "unknown OpenSSL error";
  if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

Key load_key(const std::filesystem::path& path, bool is_private) {
  std::unique_ptr<FILE, decltype(&std::fclose)> f(std::fopen(path.c_str(), "r"), std::fclose);
  if (!f) throw UserError("cannot read key " + path.string());
  EVP_PKEY* key = is_private ? PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr)
                             : PEM_read_PUBKEY(f.get(), nullptr, nullptr, nullptr);
  if (!key || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    throw UserError("key " + path.string() + " is not an Ed25519 " + (is_private ? "private" : "public") +
                    " key in PEM form: make one with rookery keygen");
  }
  return Key(key, EVP_PKEY_free);
}

std::string to_hex(const unsigned char* data, std::size_t size) {
  static const char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

bool from_hex(const std::string& text, std::string& out) {
  auto value = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  if (text.size() % 2) return false;
  out.clear();
  for (std::size_t i = 0; i < text.size(); i += 2) {
    int hi = value(text[i]), lo = value(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
  }
  return true;
}

}  // namespace

void generate_signing_key(const std::filesystem::path& private_key, const std::filesystem::path& public_key) {
  if (std::filesystem::exists(private_key)) {
    throw UserError("key " + private_key.string() + " already exists: refusing to overwrite a signing key");
  }
  Key key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), EVP_PKEY_free);
  if (!key) throw UserError("cannot generate an Ed25519 key: " + openssl_error());
  mode_t old = ::umask(077);  // the private key is born 0600
  std::unique_ptr<FILE, decltype(&std::fclose)> priv(std::fopen(private_key.c_str(), "wx"), std::fclose);
  ::umask(old);
  if (!priv || !PEM_write_PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr)) {
    throw UserError("cannot write " + private_key.string());
  }
  std::unique_ptr<FILE, decltype(&std::fclose)> pub(std::fopen(public_key.c_str(), "w"), std::fclose);
  if (!pub || !PEM_write_PUBKEY(pub.get(), key.get())) throw UserError("cannot write " + public_key.string());
}

std::string release_message(const std::string& version, const std::string& infohash_v1, const std::string& infohash_v2) {
  return "rookery-release-v1\n" + version + "\n" + infohash_v1 + "\n" + infohash_v2 + "\n";
}

std::string sign_release(const std::filesystem::path& private_key, const std::string& message) {
  Key key = load_key(private_key, true);
  MdContext ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  unsigned char sig[64];
  std::size_t len = sizeof sig;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    throw UserError("cannot sign with " + private_key.string() + ": " + openssl_error());
  }
  return to_hex(sig, len) + "\n";
}

bool verify_release(const std::filesystem::path& public_key, const std::string& message,
                    const std::string& signature_file) {
  Key key = load_key(public_key, false);
  std::string text = signature_file;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  std::string sig;
  if (!from_hex(text, sig) || sig.size() != 64) return false;
  MdContext ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
}

}  // namespace rookery::catalog
