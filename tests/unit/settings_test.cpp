// The session settings every rookery process starts with: the ones that keep a swarm inside its
// fleet, the handshake policy that keeps other clients able to connect, the upload bound, and the
// override option's checks.
#include "rookery/swarm/settings.hpp"

#include <gtest/gtest.h>

#include "rookery/common/error.hpp"
#include "rookery/origin/seeder.hpp"

namespace rookery::swarm {
namespace {

TEST(Settings, NothingReachesOutsideTheFleet) {
  auto s = make_settings(SwarmOptions{.listen = "127.0.0.1:7001"});
  EXPECT_EQ(s.get_str(lt::settings_pack::listen_interfaces), "127.0.0.1:7001");
  EXPECT_FALSE(s.get_bool(lt::settings_pack::enable_dht));
  EXPECT_FALSE(s.get_bool(lt::settings_pack::enable_lsd));
  EXPECT_FALSE(s.get_bool(lt::settings_pack::enable_upnp));
  EXPECT_FALSE(s.get_bool(lt::settings_pack::enable_natpmp));
  // Nor can an override turn them on.
  for (const char* on : {"enable_dht=true", "enable_lsd=true", "enable_upnp=true", "enable_natpmp=true"})
    EXPECT_THROW(make_settings(SwarmOptions{.session_settings = {on}}), UserError) << on;
  EXPECT_FALSE(make_settings(SwarmOptions{.session_settings = {"enable_dht=false"}}).get_bool(lt::settings_pack::enable_dht));
}

TEST(Settings, PlaintextOutgoingObfuscatedIncomingStillAccepted) {
  auto s = make_settings(SwarmOptions{});
  EXPECT_EQ(s.get_int(lt::settings_pack::out_enc_policy), lt::settings_pack::pe_disabled);
  // Never pe_disabled for incoming: clients that obfuscate their own outgoing connections
  // (Transmission prefers to) must still be able to connect in.
  EXPECT_EQ(s.get_int(lt::settings_pack::in_enc_policy), lt::settings_pack::pe_enabled);
  EXPECT_FALSE(s.get_bool(lt::settings_pack::enable_outgoing_utp));
  EXPECT_FALSE(s.get_bool(lt::settings_pack::enable_incoming_utp));
}

TEST(Settings, UploadSlotsZeroMeansEveryInterestedPeer) {
  EXPECT_EQ(make_settings(SwarmOptions{.upload_slots = 4}).get_int(lt::settings_pack::unchoke_slots_limit), 4);
  EXPECT_EQ(make_settings(SwarmOptions{.upload_slots = 0}).get_int(lt::settings_pack::unchoke_slots_limit), -1);
}

// libtorrent serves a choked peer's requests for its "allowed fast" pieces past the slots: the
// origin offers none, hosts keep libtorrent's.
TEST(Settings, TheOriginServesNoChokedHost) {
  EXPECT_EQ(make_settings(origin::SeederOptions{}.swarm).get_int(lt::settings_pack::allowed_fast_set_size), 0);
  EXPECT_EQ(make_settings(EngineOptions{}.swarm).get_int(lt::settings_pack::allowed_fast_set_size), 5);
}

// Hosts move their optimistic slot every 2 s; the origin keeps libtorrent's 30 s.
TEST(Settings, HostsRotateTheOptimisticSlotTheOriginDoesNot) {
  EXPECT_EQ(make_settings(EngineOptions{}.swarm).get_int(lt::settings_pack::optimistic_unchoke_interval), 2);
  EXPECT_EQ(make_settings(origin::SeederOptions{}.swarm).get_int(lt::settings_pack::optimistic_unchoke_interval), 30);
}

// Each queued disk job wakes every idle disk thread: two, not libtorrent's ten. None would stall.
TEST(Settings, TwoDiskThreadsNeverNone) {
  EXPECT_EQ(make_settings(SwarmOptions{}).get_int(lt::settings_pack::aio_threads), 2);
  EXPECT_EQ(make_settings(SwarmOptions{.session_settings = {"aio_threads=4"}}).get_int(lt::settings_pack::aio_threads), 4);
  EXPECT_THROW(make_settings(SwarmOptions{.session_settings = {"aio_threads=0"}}), UserError);
}

TEST(Settings, PiecesUnderWayComeFirst) {
  EXPECT_TRUE(make_settings(SwarmOptions{}).get_bool(lt::settings_pack::prioritize_partial_pieces));
  EXPECT_FALSE(make_settings(SwarmOptions{.session_settings = {"prioritize_partial_pieces=false"}})
                   .get_bool(lt::settings_pack::prioritize_partial_pieces));
}

TEST(Settings, OverridesApplyLastAndAreChecked) {
  auto s = make_settings(SwarmOptions{.session_settings = {"out_enc_policy=1", "strict_end_game_mode=false"}});
  EXPECT_EQ(s.get_int(lt::settings_pack::out_enc_policy), lt::settings_pack::pe_enabled);
  EXPECT_FALSE(s.get_bool(lt::settings_pack::strict_end_game_mode));
  for (const char* bad : {"no_such_setting=1", "unchoke_interval", "unchoke_interval=x", "enable_dht=yes"}) {
    EXPECT_THROW(make_settings(SwarmOptions{.session_settings = {bad}}), UserError) << bad;
  }
}

}  // namespace
}  // namespace rookery::swarm
