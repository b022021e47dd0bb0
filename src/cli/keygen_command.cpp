// `rookery keygen`: make the Ed25519 key pair that `publish --sign` signs with and `mount --trust` checks.
#include <filesystem>
#include <iostream>
#include <memory>

#include "rookery/catalog/signature.hpp"
#include "subcommand.hpp"

namespace rookery::cli {

Subcommand add_keygen_command(CLI::App& app) {
  auto key_out = std::make_shared<std::filesystem::path>();
  auto* keygen_cmd = app.add_subcommand("keygen", "make an Ed25519 key pair for signing releases: KEY (0600) and KEY.pub");
  keygen_cmd->add_option("--out", *key_out, "private key path; the public key goes to the same path + .pub")->required();

  return {keygen_cmd, [key_out] {
            auto pub = *key_out;
            pub += ".pub";
            catalog::generate_signing_key(*key_out, pub);
            std::cout << "wrote " << key_out->string() << " (private, keep it on the origin) and " << pub.string()
                      << " (give it to hosts: rookery mount --trust)\n";
            return 0;
          }};
}

}  // namespace rookery::cli
