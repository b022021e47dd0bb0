// The filesystem's ReleaseSource, made of the catalog's admission and the swarm engine: joining a
// version admits its torrent and adds it to the session; a joined release reads through the
// engine. This is the one place where fs/ meets libtorrent's world.
#pragma once
#include "rookery/catalog/admission.hpp"
#include "rookery/catalog/hot_set.hpp"
#include "rookery/fs/release_source.hpp"
#include "rookery/store/cache_dir.hpp"
#include "rookery/swarm/engine.hpp"

namespace rookery::daemon {

class SwarmReleaseSource final : public fs::ReleaseSource {
 public:
  SwarmReleaseSource(catalog::Admission& admission, swarm::Engine& engine, const store::CacheDir& cache);

  std::vector<std::string> versions() override;
  std::shared_ptr<fs::JoinedRelease> join(const std::string& version) override;
  void evict(const std::string& version, const std::shared_ptr<fs::JoinedRelease>& joined) override;

 private:
  catalog::Admission& admission_;
  swarm::Engine& engine_;
  const store::CacheDir& cache_;
};

// What this host has read of a joined release, as a hot set (`rookery trace`).
std::vector<catalog::HotRange> read_trace(const swarm::Release& release);

}  // namespace rookery::daemon
