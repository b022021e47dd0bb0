// Admission: what a release must pass before a host joins its swarm. Versions are immutable, so a
// torrent already in the cache is the release and needs no catalog (a joined release keeps
// working with the catalog down), and a record the held index lists stays true however old it is.
// Otherwise the torrent is fetched from the catalog and must match the index's info-hash; a
// version the held index lacks gets a fresh index, fetched alongside the torrent (so a lookup of
// an unknown name costs two requests, one of them refused). With a trusted key, the release's
// signature must verify (fetched alongside too when the cache holds none). Hostile metadata is
// refused by load_release_torrent before anything is written. An admitted torrent (and its
// signature) is then kept in the cache.
#pragma once
#include <libtorrent/torrent_info.hpp>

#include <chrono>
#include <filesystem>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "rookery/catalog/catalog.hpp"
#include "rookery/store/cache_dir.hpp"

namespace rookery::catalog {

struct AdmissionOptions {
  // When set, a release is admitted only with a valid Ed25519 signature by this key.
  std::filesystem::path trusted_key;
  // How old a held copy of the index may be for listings.
  std::chrono::milliseconds catalog_max_age{1000};
};

class Admission {
 public:
  Admission(Catalog& catalog, const store::CacheDir& cache, AdmissionOptions options);

  // The catalog's versions, oldest first. Throws UserError when the index cannot be fetched.
  std::vector<std::string> versions();
  // Why the catalog's index could not be fetched last time (a held copy was used); empty if it was.
  std::string catalog_failure() { return catalog_.index_failure(); }
  // Whether the cache holds `version`'s admitted torrent (then admit() needs no catalog).
  bool holds(const std::string& version) const;
  // The release's checked torrent, kept in the cache; null when the catalog has no such version.
  // Throws NotTrusted (signature missing or wrong) or UserError (one line: why).
  std::shared_ptr<const lt::torrent_info> admit(const std::string& version);

 private:
  Catalog& catalog_;
  const store::CacheDir& cache_;
  AdmissionOptions options_;

  // The signature, or NotTrusted naming why it could not be had.
  std::string fetch_trusted_signature(const std::string& version);
  // fetch_trusted_signature on another thread when `wanted`; an invalid future otherwise.
  std::future<std::string> fetch_signature_alongside(const std::string& version, bool wanted);
};

}  // namespace rookery::catalog
