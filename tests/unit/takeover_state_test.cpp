// fuse::TakeoverState and its request journal: what one serving process leaves in the memfd and
// what its successor finds there. Two "processes" are two mappings of the same memfd.
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "rookery/common/error.hpp"
#include "rookery/fuse/takeover_state.hpp"

using namespace rookery;
using fuse::RequestJournal;
using fuse::TakeoverState;

namespace {

std::vector<char> init_request() {
  std::vector<char> init(sizeof(fuse_in_header) + sizeof(fuse_init_in), 0);
  fuse_in_header h{};
  h.len = static_cast<std::uint32_t>(init.size());
  h.opcode = FUSE_INIT;
  h.unique = 2;
  std::memcpy(init.data(), &h, sizeof h);
  init.back() = 42;
  return init;
}

// The successor's view: the same memfd, mapped again.
TakeoverState successor_of(const TakeoverState& state) { return TakeoverState::attach(::dup(state.fd())); }

void put_request(RequestJournal& journal, std::uint32_t slot, std::uint64_t unique, std::uint32_t len = 80) {
  fuse_in_header h{};
  h.len = len;
  h.opcode = FUSE_READ;
  h.unique = unique;
  std::memcpy(journal.data(slot), &h, sizeof h);
}

}  // namespace

TEST(TakeoverState, ASuccessorFindsTheInitRequestAndCountsItsTakeover) {
  auto state = TakeoverState::create(init_request(), fuse::InflightReplay::journal);
  EXPECT_FALSE(state.begin_serving(100));  // the connection's first server
  EXPECT_EQ(state.takeovers(), 0u);
  auto next = successor_of(state);
  EXPECT_EQ(next.init_request(), init_request());
  EXPECT_EQ(next.replay(), fuse::InflightReplay::journal);
  EXPECT_TRUE(next.begin_serving(101));
  EXPECT_EQ(next.takeovers(), 1u);
  next.count_replayed(3);
  EXPECT_EQ(successor_of(next).replayed_total(), 3u);
  EXPECT_GT(next.serving_since_ms(), 1700000000000);
}

TEST(TakeoverState, AStateOfAnotherLayoutIsRefusedWithOneLine) {
  auto state = TakeoverState::create(init_request(), fuse::InflightReplay::resend);
  char garbage[8] = {'n', 'o', 't', ' ', 'o', 'u', 'r', 's'};
  ASSERT_EQ(::pwrite(state.fd(), garbage, sizeof garbage, 0), 8);
  try {
    successor_of(state);
    FAIL() << "attached to a state with another magic";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("incompatible rookery version"), std::string::npos);
  }
  int small = ::memfd_create("small", MFD_CLOEXEC);
  ASSERT_EQ(::ftruncate(small, 4096), 0);
  EXPECT_THROW(TakeoverState::attach(small), UserError);
}

TEST(TakeoverState, JoinedVersionsSurviveAWriterKilledMidWrite) {
  auto state = TakeoverState::create(init_request(), fuse::InflightReplay::journal);
  EXPECT_TRUE(successor_of(state).joined_versions().empty());
  state.set_joined_versions({"1.0", "2.0"});
  EXPECT_EQ(successor_of(state).joined_versions(), (std::vector<std::string>{"1.0", "2.0"}));
  state.set_joined_versions({"2.0"});
  EXPECT_EQ(successor_of(state).joined_versions(), std::vector<std::string>{"2.0"});
  // A writer killed while writing the copy not in use: garbage there changes nothing.
  std::string torn(64 * 1024, 'x');
  ASSERT_EQ(::pwrite(state.fd(), torn.data(), torn.size(), 4096), static_cast<ssize_t>(torn.size()));
  ASSERT_EQ(::pwrite(state.fd(), torn.data(), torn.size(), 4096 + 64 * 1024), static_cast<ssize_t>(torn.size()));
  state.set_joined_versions({"3.0"});
  EXPECT_EQ(successor_of(state).joined_versions(), std::vector<std::string>{"3.0"});
}

TEST(RequestJournal, ASuccessorGetsTheUnansweredRequestsOldestFirst) {
  auto state = TakeoverState::create(init_request(), fuse::InflightReplay::journal);
  auto& journal = state.journal();
  auto answered = journal.claim(), late = journal.claim(), early = journal.claim(), reading = journal.claim();
  ASSERT_TRUE(answered && late && early && reading);
  put_request(journal, *answered, 8);
  put_request(journal, *late, 40);
  put_request(journal, *early, 12);
  journal.release(*answered);  // its reply was written
  // `reading`: claimed, but the process died before the kernel handed it a request (header zero).

  auto next = successor_of(state);
  auto unanswered = next.journal().take_unanswered();
  EXPECT_EQ(unanswered, (std::vector<std::uint32_t>{*early, *late}));
  fuse_in_header h;
  std::memcpy(&h, next.journal().data(unanswered[0]), sizeof h);
  EXPECT_EQ(h.unique, 12u);
  // Those two stay reserved until answered; everything else is free again.
  std::vector<std::uint32_t> claimed;
  while (auto slot = next.journal().claim()) claimed.push_back(*slot);
  EXPECT_EQ(claimed.size(), RequestJournal::kSlots - 2);
  EXPECT_EQ(std::count(claimed.begin(), claimed.end(), *early), 0);
  EXPECT_EQ(std::count(claimed.begin(), claimed.end(), *reading), 1);
  // A later successor still finds the two while nobody has answered them.
  EXPECT_EQ(successor_of(state).journal().take_unanswered(), (std::vector<std::uint32_t>{*early, *late}));
}

TEST(RequestJournal, ATruncatedOrOversizedHeaderIsNotARequest) {
  auto state = TakeoverState::create(init_request(), fuse::InflightReplay::journal);
  auto& journal = state.journal();
  auto tiny = journal.claim(), huge = journal.claim(), good = journal.claim();
  put_request(journal, *tiny, 4, 10);
  put_request(journal, *huge, 6, RequestJournal::kSlotSize + 1);
  put_request(journal, *good, 8);
  EXPECT_EQ(successor_of(state).journal().take_unanswered(), std::vector<std::uint32_t>{*good});
}

TEST(RequestJournal, AFullJournalSaysSoAndRecovers) {
  auto state = TakeoverState::create(init_request(), fuse::InflightReplay::journal);
  auto& journal = state.journal();
  std::vector<std::uint32_t> all;
  while (auto slot = journal.claim()) all.push_back(*slot);
  EXPECT_EQ(all.size(), RequestJournal::kSlots);
  EXPECT_FALSE(journal.claim());
  journal.release(all[7]);
  EXPECT_EQ(journal.claim(), all[7]);
}
