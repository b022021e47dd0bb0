// Signed releases. The origin signs, with an Ed25519 key, one line per release that binds the
// version name to the torrent's info-hashes; a host that trusts the public key refuses any release
// whose signature is missing or wrong. Every piece is then checked against those info-hashes, so
// the signature authenticates every byte a host will ever serve.
//
//   message   = "rookery-release-v1\n" + version + "\n" + infohash_v1 + "\n" + infohash_v2 + "\n"
//   REPO/torrents/<version>.torrent.sig = hex(Ed25519 signature) + "\n"
//
// Keys are PEM files (PKCS#8 private key, mode 0600; SubjectPublicKeyInfo public key).
#pragma once
#include <filesystem>
#include <string>

namespace rookery::catalog {

void generate_signing_key(const std::filesystem::path& private_key, const std::filesystem::path& public_key);

std::string release_message(const std::string& version, const std::string& infohash_v1, const std::string& infohash_v2);

// Returns the signature file's contents. Throws UserError.
std::string sign_release(const std::filesystem::path& private_key, const std::string& message);

// True when `signature_file` (the .sig contents) is a valid signature of `message`. Throws
// UserError only when the public key itself cannot be used.
bool verify_release(const std::filesystem::path& public_key, const std::string& message,
                    const std::string& signature_file);

}  // namespace rookery::catalog
