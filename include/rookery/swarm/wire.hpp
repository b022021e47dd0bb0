// Raw BitTorrent messages for the plugins that write to peers themselves. Debian's libtorrent 2.0.8
// exports no `write_*` call to plugins, only peer_connection_handle::send_buffer, so a plugin that
// must say something libtorrent would not (the origin's REJECT and lt_donthave, a host's HAVE to the
// origin) builds the message here. Big-endian lengths and indices, as BEP 3 frames them.
#pragma once
#include <array>
#include <cstdint>

namespace rookery::swarm::wire {

// The key a rookery origin adds to its extension handshake (BEP 10): hosts keep telling it every
// piece they gain, which its unique-upload policy counts on (swarm/fleet_plugin.hpp).
inline constexpr char kOriginHandshakeKey[] = "rookery_origin";

inline void put32(char* out, std::uint32_t v) {
  out[0] = static_cast<char>(v >> 24);
  out[1] = static_cast<char>(v >> 16);
  out[2] = static_cast<char>(v >> 8);
  out[3] = static_cast<char>(v);
}

// <len=5><4: have><piece>
inline std::array<char, 9> have(int piece) {
  std::array<char, 9> msg{};
  put32(msg.data(), 5);
  msg[4] = 4;
  put32(msg.data() + 5, static_cast<std::uint32_t>(piece));
  return msg;
}

}  // namespace rookery::swarm::wire
