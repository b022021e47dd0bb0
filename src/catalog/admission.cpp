#include "rookery/catalog/admission.hpp"

#include <libtorrent/hex.hpp>

#include <future>

#include "rookery/catalog/signature.hpp"
#include "rookery/catalog/torrent_check.hpp"
#include "rookery/common/error.hpp"
#include "rookery/common/files.hpp"

namespace rookery::catalog {

Admission::Admission(Catalog& catalog, const store::CacheDir& cache, AdmissionOptions options)
    : catalog_(catalog), cache_(cache), options_(std::move(options)) {}

std::vector<std::string> Admission::versions() {
  std::vector<std::string> out;
  for (const auto& r : catalog_.index(options_.catalog_max_age).releases) out.push_back(r.version);
  return out;
}

bool Admission::holds(const std::string& version) const {
  return std::filesystem::exists(cache_.torrent_path(version));
}

std::string Admission::fetch_trusted_signature(const std::string& version) {
  try {
    return catalog_.fetch_signature(version);
  } catch (const UserError& e) {
    throw NotTrusted(std::string("no signature (") + e.what() + ")");
  }
}

std::future<std::string> Admission::fetch_signature_alongside(const std::string& version, bool wanted) {
  if (!wanted) return {};
  return std::async(std::launch::async, [this, &version] { return fetch_trusted_signature(version); });
}

std::shared_ptr<const lt::torrent_info> Admission::admit(const std::string& version) {
  auto cached = cache_.torrent_path(version);
  auto cached_signature = cache_.signature_path(version);
  const bool from_cache = holds(version);
  const bool check_signature = !options_.trusted_key.empty();
  std::string bytes, signature;
  std::optional<ReleaseRecord> record;
  if (from_cache) {
    bytes = read_file(cached);
    // A torrent cached before the host trusted a key has no signature kept with it: fetch it now.
    if (check_signature)
      signature = std::filesystem::exists(cached_signature) ? read_file(cached_signature) : fetch_trusted_signature(version);
  } else if (auto held = catalog_.held_record(version)) {
    // Versions are immutable: a record the held index has, however old, is still the release's.
    record = std::move(held);
    auto signature_fetch = fetch_signature_alongside(version, check_signature);
    bytes = catalog_.fetch_torrent(version);
    if (signature_fetch.valid()) signature = signature_fetch.get();
  } else {
    // A version missing from the held index may have been published a moment ago. The fresh
    // index, the torrent and its signature are fetched at once, so that a join waits for one round
    // of requests, not for three in a row: while a fleet joins, each one is a round trip through
    // the origin's link full of pieces (BENCHMARKS.md, "Fifteenth session" under Herd).
    auto torrent_fetch = std::async(std::launch::async, [this, &version] { return catalog_.fetch_torrent(version); });
    auto signature_fetch = fetch_signature_alongside(version, check_signature);
    auto index = catalog_.index(std::chrono::milliseconds(0));
    if (auto* r = index.find(version)) record = *r;
    if (!record) return nullptr;  // the torrent fetch most likely failed too; its error says nothing more
    bytes = torrent_fetch.get();
    if (signature_fetch.valid()) signature = signature_fetch.get();
  }
  auto info = load_release_torrent(bytes);
  auto hashes = info->info_hashes();
  std::string v1 = hashes.has_v1() ? lt::aux::to_hex(hashes.v1) : "";
  std::string v2 = hashes.has_v2() ? lt::aux::to_hex(hashes.v2) : "";
  if (record && !record->infohash_v1.empty() && v1 != record->infohash_v1) {
    throw UserError("torrent does not match the catalog's info-hash " + record->infohash_v1);
  }
  if (check_signature && !verify_release(options_.trusted_key, release_message(version, v1, v2), signature)) {
    throw NotTrusted("signature does not match " + options_.trusted_key.string() +
                     " (signed by another key, or for another version)");
  }
  std::filesystem::create_directories(cache_.release_dir(version));
  if (!from_cache) write_file_atomically(cached, bytes, 0600);
  if (check_signature) write_file_atomically(cached_signature, signature, 0600);
  return info;
}

}  // namespace rookery::catalog
