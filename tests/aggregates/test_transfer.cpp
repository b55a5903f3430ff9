#include "domain_testing.hpp"

#include <cairn/domains/account.hpp>
#include <cairn/domains/transfer.hpp>
#include <cairn/process_manager.hpp>
#include <cairn/saga.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

using namespace cairn::domains::transfers;
using cairn::aggregate_root;
using cairn::money;
using cairn::testing::require_accepted;
using cairn::testing::require_rejected;
namespace accounts = cairn::domains::accounts;

namespace {

static_assert(cairn::process_manager<transfer>);
static_assert(cairn::snapshottable<transfer>);
static_assert(cairn::testing::all_message_types<transfer::command>);
static_assert(cairn::testing::all_message_types<transfer::event>);
static_assert(cairn::creates_aggregate_v<start_transfer>);
static_assert(!cairn::creates_aggregate_v<cairn::saga_result>);
static_assert(cairn::incremental_outbox<transfer>);
using cairn::saga_result;
using step_answered = cairn::step_answered<transfer>;
static_assert(std::tuple_size_v<transfer::inputs> == 0);

using saga_root = aggregate_root<transfer>;
using out = cairn::outgoing_command<transfer::outgoing>;
using outbox_t = std::vector<out>;
using events_t = std::vector<transfer::event>;

money amount(std::string_view text) {
  return money::parse(text).value();
}

saga_root started() {
  saga_root root{"t-1"};
  require_accepted(root, start_transfer{"t-1", "alice", "bob", amount("25.00")});
  return root;
}

/// Records an answer and returns the domain events it caused, after checking that the framework recorded the
/// answer itself first (nothing at all for a repeat).
events_t answer(saga_root& root, std::uint64_t step, bool accepted, std::string_view message = {}) {
  auto events = require_accepted(root, transfer::result_command(step, accepted, message));
  if (events.empty())
    return events;
  CHECK(events.front() == transfer::event{step_answered{step, accepted, std::string{message}}});
  return events_t(events.begin() + 1, events.end());
}

void answer_ignored(saga_root& root, std::uint64_t step, bool accepted, std::string_view message = {}) {
  const auto state_before = root.state();
  const auto version_before = root.version();
  CHECK(answer(root, step, accepted, message).empty());
  CHECK(root.state() == state_before);
  CHECK(root.version() == version_before);
}

const out debit_due{debit_step, "alice", accounts::debit{"t-1", money::from_minor(2500)}};
const out credit_due{credit_step, "bob", accounts::credit{"t-1", money::from_minor(2500)}};
const out refund_due{refund_step, "alice", accounts::refund{"t-1", money::from_minor(2500)}};

void check_rebuilt(const saga_root& root, const events_t& log) {
  const auto restored = cairn::testing::restored_from_snapshot(root);
  CHECK(restored.version() == root.version());
  CHECK(restored.state() == root.state());
  CHECK(restored.state().outbox() == root.state().outbox());
  saga_root replayed{root.id()};
  replayed.apply(log);
  CHECK(replayed.version() == root.version());
  CHECK(replayed.state() == root.state());
}

/// The accounts, run in memory. A command to an account that does not exist is refused "not_found", as the
/// runtime refuses it; a repeated step gets its first answer, as the runtime's (instance, step) dedup gives it.
struct bank {
  std::map<std::string, aggregate_root<accounts::account>, std::less<>> accounts;
  std::map<std::uint64_t, std::pair<bool, std::string>> answered;

  aggregate_root<accounts::account>& open(const std::string& id, std::string_view balance) {
    auto& a = accounts.emplace(id, aggregate_root<accounts::account>{id}).first->second;
    require_accepted(a, accounts::open_account{"owner of " + id});
    if (amount(balance) > money{})
      require_accepted(a, accounts::deposit{amount(balance)});
    return a;
  }

  money balance(const std::string& id) const {
    return accounts.at(id).state().balance();
  }

  std::pair<bool, std::string> send(const out& o) {
    if (const auto it = answered.find(o.step); it != answered.end())
      return it->second;
    std::pair<bool, std::string> result{false, "not_found: account '" + o.target_id + "' does not exist"};
    if (const auto it = accounts.find(o.target_id); it != accounts.end()) {
      auto outcome = std::visit([&](const auto& cmd) { return it->second.decide(cmd); }, o.command);
      if (outcome) {
        it->second.apply(outcome.events());
        result = {true, {}};
      } else {
        result = {false, outcome.error().message};
      }
    }
    answered.emplace(o.step, result);
    return result;
  }

  int run_to_end(saga_root& saga) {
    int rounds = 0;
    while (!saga.state().outbox().empty() && rounds < 10) {
      ++rounds;
      for (const auto& o : saga.state().outbox()) {
        const auto [accepted, message] = send(o);
        answer(saga, o.step, accepted, message);
      }
    }
    return rounds;
  }
};

} // namespace

TEST_CASE("transfer: names its events and versions their schemas", "[transfer]") {
  cairn::testing::check_event_types<transfer>();
  // The answer events are at 2 since they follow a step_answered (version 1 is upcast: transfer_upgrade.hpp).
  CHECK(cairn::testing::schema_versions(std::type_identity<transfer::event>{}) ==
        std::vector<std::uint32_t>{1, 2, 2, 2, 2, 2, 2, 1});
  CHECK(transfer::snapshot_version == 2);
  CHECK(transfer::type_name == "transfer");
}

TEST_CASE("transfer: every command and event survives inspect", "[transfer]") {
  cairn::testing::check_round_trips(std::vector<transfer::command>{
    start_transfer{"t-1", "alice", "bob", amount("25.00")}, saga_result{2, false, "account is closed"}});
  cairn::testing::check_round_trips(std::vector<transfer::event>{
    transfer_started{"t-1", "alice", "bob", amount("25.00")}, debit_accepted{}, debit_refused{"no funds"},
    credit_accepted{}, credit_refused{"closed"}, refund_accepted{}, refund_refused{"closed too"},
    step_answered{2, false, "closed"}});
}

TEST_CASE("transfer: result_command is the framework's saga_result", "[transfer]") {
  CHECK(transfer::result_command(2, true, "") == transfer::command{saga_result{2, true, ""}});
  CHECK(transfer::result_command(3, false, "no") == transfer::command{saga_result{3, false, "no"}});
}

TEST_CASE("transfer: start validates the accounts and the amount", "[transfer]") {
  saga_root root{"t-1"};
  require_rejected(root, start_transfer{"", "alice", "bob", amount("1")}, "transfer_id must not be empty");
  require_rejected(root, start_transfer{"t-1", "", "bob", amount("1")}, "from must not be empty");
  require_rejected(root, start_transfer{"t-1", "alice", "", amount("1")}, "to must not be empty");
  require_rejected(root, start_transfer{"t-1", "alice", "alice", amount("1")},
                   "from and to must differ, both are 'alice'");
  require_rejected(root, start_transfer{"t-1", "alice", "bob", money{}}, "amount must be positive, got 0.00");
  require_rejected(root, start_transfer{"t-1", "alice", "bob", amount("-1")}, "amount must be positive, got -1.00");
  CHECK_FALSE(root.exists());
  CHECK(root.state().outbox().empty());
  // A result for a step that was never sent records nothing.
  CHECK(require_accepted(root, saga_result{1, true, ""}).empty());
  CHECK_FALSE(root.exists());
}

TEST_CASE("transfer: start records the transfer and puts the debit in the outbox", "[transfer]") {
  saga_root root{"t-1"};
  const auto events = require_accepted(root, start_transfer{"t-1", "alice", "bob", amount("25.00")});
  CHECK(events == events_t{transfer_started{"t-1", "alice", "bob", amount("25.00")}});
  CHECK(root.exists());
  CHECK(root.state().started());
  CHECK(root.state().transfer_id() == "t-1");
  CHECK(root.state().from() == "alice");
  CHECK(root.state().to() == "bob");
  CHECK(root.state().amount() == amount("25.00"));
  CHECK(root.state().status() == transfer_status::pending);
  CHECK(root.state().due_step() == debit_step);
  CHECK(root.state().outbox() == outbox_t{debit_due});
  require_rejected(root, start_transfer{"t-1", "alice", "bob", amount("1")}, "transfer already exists");
}

TEST_CASE("transfer: debit then credit completes the transfer", "[transfer]") {
  auto root = started();
  events_t log{transfer_started{"t-1", "alice", "bob", amount("25.00")}};
  auto record = [&](std::uint64_t step, bool accepted, std::string_view message = {}) {
    auto events = answer(root, step, accepted, message);
    log.push_back(step_answered{step, accepted, std::string{message}});
    log.insert(log.end(), events.begin(), events.end());
    return events;
  };
  CHECK(record(debit_step, true) == events_t{debit_accepted{}});
  CHECK(root.state().status() == transfer_status::pending);
  CHECK(root.state().outbox() == outbox_t{credit_due});
  check_rebuilt(root, log);
  CHECK(record(credit_step, true) == events_t{credit_accepted{}});
  CHECK(root.state().status() == transfer_status::completed);
  CHECK(root.state().due_step() == 0);
  CHECK(root.state().outbox().empty());
  CHECK(root.state().reason().empty());
  CHECK_FALSE(root.state().stranded());
  check_rebuilt(root, log);
}

TEST_CASE("transfer: a refused debit fails the transfer, with nothing to compensate", "[transfer]") {
  auto root = started();
  CHECK(answer(root, debit_step, false, "insufficient funds: balance 10.00, requested 25.00") ==
        events_t{debit_refused{"debit of 'alice' refused: insufficient funds: balance 10.00, requested 25.00"}});
  CHECK(root.state().status() == transfer_status::failed);
  CHECK(root.state().reason() == "debit of 'alice' refused: insufficient funds: balance 10.00, requested 25.00");
  CHECK(root.state().outbox().empty());
  CHECK_FALSE(root.state().stranded());
  check_rebuilt(root, events_t{transfer_started{"t-1", "alice", "bob", amount("25.00")},
                               step_answered{debit_step, false, "insufficient funds: balance 10.00, requested 25.00"},
                               debit_refused{root.state().reason()}});
}

TEST_CASE("transfer: a refused credit refunds the debit", "[transfer]") {
  auto root = started();
  answer(root, debit_step, true);
  CHECK(answer(root, credit_step, false, "account is closed") ==
        events_t{credit_refused{"credit of 'bob' refused: account is closed"}});
  CHECK(root.state().status() == transfer_status::pending);
  CHECK(root.state().reason() == "credit of 'bob' refused: account is closed");
  CHECK(root.state().outbox() == outbox_t{refund_due});
  check_rebuilt(root, events_t{transfer_started{"t-1", "alice", "bob", amount("25.00")},
                               step_answered{debit_step, true, ""}, debit_accepted{},
                               step_answered{credit_step, false, "account is closed"},
                               credit_refused{"credit of 'bob' refused: account is closed"}});
  CHECK(answer(root, refund_step, true) == events_t{refund_accepted{}});
  CHECK(root.state().status() == transfer_status::compensated);
  CHECK(root.state().reason() == "credit of 'bob' refused: account is closed");
  CHECK(root.state().outbox().empty());
  CHECK_FALSE(root.state().stranded());
}

TEST_CASE("transfer: a refused refund ends the transfer failed, with the money stranded", "[transfer]") {
  auto root = started();
  answer(root, debit_step, true);
  answer(root, credit_step, false, "not_found");
  CHECK(answer(root, refund_step, false, "account is closed") ==
        events_t{refund_refused{"refund of 'alice' refused: account is closed"}});
  CHECK(root.state().status() == transfer_status::failed);
  CHECK(root.state().stranded());
  CHECK(root.state().reason() ==
        "credit of 'bob' refused: not_found; refund of 'alice' refused: account is closed");
  CHECK(root.state().outbox().empty());
  CHECK(cairn::testing::restored_from_snapshot(root).state() == root.state());
}

TEST_CASE("transfer: an account's 'already processed' answer for this step counts as accepted", "[transfer]") {
  auto root = started();
  CHECK(answer(root, debit_step, false, "transfer 't-1' already processed (debit)") == events_t{debit_accepted{}});
  // Another transfer's, or another step's, is a refusal.
  auto other = started();
  CHECK(answer(other, debit_step, false, "transfer 't-2' already processed (debit)") ==
        events_t{debit_refused{"debit of 'alice' refused: transfer 't-2' already processed (debit)"}});
  CHECK(answer(root, credit_step, false, "transfer 't-1' already processed (debit)") ==
        events_t{credit_refused{"credit of 'bob' refused: transfer 't-1' already processed (debit)"}});
  CHECK(answer(root, refund_step, false, "transfer 't-1' already processed (refund)") ==
        events_t{refund_accepted{}});
  CHECK(root.state().status() == transfer_status::compensated);

  auto credited = started();
  answer(credited, debit_step, true);
  CHECK(answer(credited, credit_step, false, "transfer 't-1' already processed (credit)") ==
        events_t{credit_accepted{}});
}

TEST_CASE("transfer: a repeated result or a result for an unknown step records nothing", "[transfer]") {
  auto root = started();
  answer_ignored(root, 0, true);
  answer_ignored(root, credit_step, true); // not due yet
  answer_ignored(root, refund_step, true);
  answer_ignored(root, 4, true);
  answer(root, debit_step, true);
  answer_ignored(root, debit_step, true);
  answer_ignored(root, debit_step, false, "late refusal");
  answer_ignored(root, refund_step, true);
  CHECK(root.state().outbox() == outbox_t{credit_due});
  answer(root, credit_step, true);
  REQUIRE(root.state().status() == transfer_status::completed);
  for (std::uint64_t step : {0, 1, 2, 3, 4})
    answer_ignored(root, step, step % 2 == 0, "again");
  require_rejected(root, start_transfer{"t-1", "alice", "bob", amount("1")}, "transfer already exists");
}

TEST_CASE("transfer: a snapshot restores the whole state at every point", "[transfer]") {
  auto root = started();
  auto check = [&] {
    auto restored = cairn::testing::restored_from_snapshot(root);
    CHECK(restored.state() == root.state());
    CHECK(restored.version() == root.version());
    CHECK(restored.state().outbox() == root.state().outbox());
    return restored;
  };
  check();
  answer(root, debit_step, true);
  auto restored = check();
  CHECK(answer(restored, credit_step, false, "closed") == answer(root, credit_step, false, "closed"));
  check();
  answer(root, refund_step, true);
  check();
}

TEST_CASE("transfer: run against real accounts, the money moves", "[transfer]") {
  bank b;
  b.open("alice", "100.00");
  b.open("bob", "0");
  auto saga = started();
  CHECK(b.run_to_end(saga) == 2);
  CHECK(saga.state().status() == transfer_status::completed);
  CHECK(b.balance("alice") == amount("75.00"));
  CHECK(b.balance("bob") == amount("25.00"));
}

TEST_CASE("transfer: run against real accounts, insufficient funds fail the transfer", "[transfer]") {
  bank b;
  b.open("alice", "10.00");
  b.open("bob", "0");
  auto saga = started();
  CHECK(b.run_to_end(saga) == 1);
  CHECK(saga.state().status() == transfer_status::failed);
  CHECK(saga.state().reason() == "debit of 'alice' refused: insufficient funds: balance 10.00, requested 25.00");
  CHECK(b.balance("alice") == amount("10.00"));
}

TEST_CASE("transfer: run against real accounts, a missing or closed destination is compensated", "[transfer]") {
  bank b;
  b.open("alice", "100.00");
  SECTION("missing") {
    auto saga = started();
    CHECK(b.run_to_end(saga) == 3);
    CHECK(saga.state().status() == transfer_status::compensated);
    CHECK(saga.state().reason() == "credit of 'bob' refused: not_found: account 'bob' does not exist");
  }
  SECTION("closed") {
    auto& bob = b.open("bob", "0");
    require_accepted(bob, accounts::close_account{});
    auto saga = started();
    CHECK(b.run_to_end(saga) == 3);
    CHECK(saga.state().status() == transfer_status::compensated);
    CHECK(saga.state().reason() == "credit of 'bob' refused: account is closed");
  }
  CHECK(b.balance("alice") == amount("100.00"));
  CHECK(b.accounts.at("alice").state().remembers("t-1", accounts::transfer_step::refund));
}

TEST_CASE("transfer: a crash after a step took effect re-sends it, and it takes effect once", "[transfer]") {
  bank b;
  b.open("alice", "100.00");
  b.open("bob", "0");
  auto saga = started();
  answer(saga, debit_step, b.send(saga.state().outbox().front()).first);
  // The credit is taken but the saga crashes before recording it: rebuilt, it sends the credit again.
  b.send(saga.state().outbox().front());
  auto recovered = cairn::testing::restored_from_snapshot(saga);
  CHECK(recovered.state().outbox() == outbox_t{credit_due});
  SECTION("the runtime's dedup answers the repeat") {
    CHECK(b.run_to_end(recovered) == 1);
  }
  SECTION("without it, the account's window refuses the repeat, which counts as accepted") {
    b.answered.clear();
    CHECK(b.run_to_end(recovered) == 1);
  }
  CHECK(recovered.state().status() == transfer_status::completed);
  CHECK(b.balance("alice") == amount("75.00"));
  CHECK(b.balance("bob") == amount("25.00"));
}

TEST_CASE("transfer: status names", "[transfer]") {
  CHECK(to_string(transfer_status::pending) == "pending");
  CHECK(to_string(transfer_status::completed) == "completed");
  CHECK(to_string(transfer_status::failed) == "failed");
  CHECK(to_string(transfer_status::compensated) == "compensated");
}
