// The swarm options shared by `seed` and `mount`.
#include "swarm_options.hpp"

namespace rookery::cli {

void add_swarm_options(CLI::App* cmd, swarm::SwarmOptions& o) {
  cmd->add_option("--listen", o.listen, "interface:port peers connect to")->capture_default_str();
  cmd->add_option("--max-upload-rate", o.max_upload_rate, "upload limit in bytes/s, 0 = none (applies to LAN peers)")
      ->capture_default_str();
  cmd->add_option("--max-download-rate", o.max_download_rate, "download limit in bytes/s, 0 = none")
      ->capture_default_str();
  cmd->add_option("--session-setting", o.session_settings,
                  "NAME=VALUE: set one BitTorrent session setting, by its settings_pack name, over rookery's "
                  "own; repeatable. For experiments and field workarounds");
}

}  // namespace rookery::cli
