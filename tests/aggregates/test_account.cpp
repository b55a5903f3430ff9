#include "domain_testing.hpp"

#include <cairn/domains/account.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using namespace cairn::domains::accounts;
using cairn::aggregate_root;
using cairn::money;
using cairn::testing::require_accepted;
using cairn::testing::require_rejected;

namespace {

static_assert(cairn::aggregate<account>);
static_assert(cairn::snapshottable<account>);
static_assert(cairn::testing::all_message_types<account::command>);
static_assert(cairn::testing::all_message_types<account::event>);
static_assert(cairn::creates_aggregate_v<open_account>);
static_assert(!cairn::creates_aggregate_v<deposit> && !cairn::creates_aggregate_v<close_account>);

money amount(std::string_view text) {
  return money::parse(text).value();
}

aggregate_root<account> opened_with(std::string_view balance) {
  aggregate_root<account> root{"acc-1"};
  require_accepted(root, open_account{"alice"});
  if (money::parse(balance).value() > money{})
    require_accepted(root, deposit{amount(balance)});
  return root;
}

} // namespace

TEST_CASE("account: names its events and versions their schemas", "[account]") {
  cairn::testing::check_event_types<account>();
  for (auto version : cairn::testing::schema_versions(std::type_identity<account::event>{}))
    CHECK(version == 1);
  CHECK(account::snapshot_version == 1);
}

TEST_CASE("account: every command and event survives inspect", "[account]") {
  cairn::testing::check_round_trips(std::vector<account::command>{
    open_account{"alice"}, deposit{amount("10")}, withdraw{amount("2.50")}, debit{"t-1", amount("1")},
    credit{"t-2", amount("2")}, refund{"t-1", amount("1")}, close_account{}});
  cairn::testing::check_round_trips(std::vector<account::event>{
    account_opened{"alice"}, money_deposited{amount("10")}, money_withdrawn{amount("2.50")},
    transfer_debited{"t-1", amount("1")}, transfer_credited{"t-2", amount("2")},
    transfer_refunded{"t-1", amount("1")}, account_closed{}});
}

TEST_CASE("account: open_account opens an empty account for an owner", "[account]") {
  aggregate_root<account> root{"acc-1"};
  require_rejected(root, open_account{""}, "owner must not be empty");
  require_accepted(root, open_account{"alice"});
  CHECK(root.exists());
  CHECK(root.version() == 1);
  CHECK(root.state().owner() == "alice");
  CHECK(root.state().balance() == money{});
  require_rejected(root, open_account{"bob"}, "account already exists");
}

TEST_CASE("account: every command but open is rejected on an account that does not exist", "[account]") {
  aggregate_root<account> root{"acc-1"};
  for (const account::command& cmd : std::vector<account::command>{
         deposit{amount("1")}, withdraw{amount("1")}, debit{"t-1", amount("1")}, credit{"t-1", amount("1")},
         refund{"t-1", amount("1")}, close_account{}})
    require_rejected(root, cmd, "account does not exist");
}

TEST_CASE("account: deposit and withdraw move positive amounts", "[account]") {
  auto root = opened_with("0");
  require_accepted(root, deposit{amount("100.00")});
  require_accepted(root, withdraw{amount("30.25")});
  CHECK(root.state().balance() == amount("69.75"));
  CHECK(root.version() == 3);
  for (const account::command& cmd : std::vector<account::command>{
         deposit{money{}}, withdraw{money{}}, debit{"t-1", money{}}, credit{"t-1", money{}},
         refund{"t-1", money{}}})
    require_rejected(root, cmd, "amount must be positive, got 0.00");
  require_rejected(root, deposit{amount("-5")}, "amount must be positive, got -5.00");
  require_rejected(root, withdraw{amount("-5")}, "amount must be positive, got -5.00");
}

TEST_CASE("account: no overdraft", "[account]") {
  auto root = opened_with("50.00");
  require_rejected(root, withdraw{amount("50.01")}, "insufficient funds: balance 50.00, requested 50.01");
  require_rejected(root, debit{"t-1", amount("50.01")}, "insufficient funds");
  require_accepted(root, withdraw{amount("50.00")});
  CHECK(root.state().balance() == money{});
  require_rejected(root, withdraw{amount("0.01")}, "insufficient funds: balance 0.00, requested 0.01");
}

TEST_CASE("account: a deposit that would overflow the balance is rejected", "[account]") {
  auto root = opened_with("1.00");
  const auto too_much = money::from_minor(std::numeric_limits<std::int64_t>::max());
  require_rejected(root, deposit{too_much}, "balance would overflow");
  require_rejected(root, credit{"t-1", too_much}, "balance would overflow");
  require_rejected(root, refund{"t-1", too_much}, "balance would overflow");
  require_accepted(root, deposit{money::from_minor(too_much.minor_units - 100)});
  CHECK(root.state().balance() == too_much);
}

TEST_CASE("account: transfer steps move money and are remembered", "[account]") {
  auto root = opened_with("100.00");
  const auto debited = require_accepted(root, debit{"t-1", amount("40.00")});
  CHECK(debited == std::vector<account::event>{transfer_debited{"t-1", amount("40.00")}});
  CHECK(root.state().balance() == amount("60.00"));
  require_accepted(root, credit{"t-2", amount("5.00")});
  CHECK(root.state().balance() == amount("65.00"));
  require_accepted(root, refund{"t-1", amount("40.00")});
  CHECK(root.state().balance() == amount("105.00"));
  CHECK(root.state().remembers("t-1", transfer_step::debit));
  CHECK(root.state().remembers("t-1", transfer_step::refund));
  CHECK(root.state().remembers("t-2", transfer_step::credit));
  CHECK_FALSE(root.state().remembers("t-2", transfer_step::debit));
  CHECK(root.state().remembered_transfers().size() == 3);
}

TEST_CASE("account: a transfer step processed twice is rejected", "[account]") {
  auto root = opened_with("100.00");
  require_accepted(root, debit{"t-1", amount("10.00")});
  require_rejected(root, debit{"t-1", amount("10.00")}, "transfer 't-1' already processed (debit)");
  require_accepted(root, credit{"t-2", amount("10.00")});
  require_rejected(root, credit{"t-2", amount("10.00")}, "transfer 't-2' already processed (credit)");
  require_accepted(root, refund{"t-1", amount("10.00")});
  require_rejected(root, refund{"t-1", amount("10.00")}, "transfer 't-1' already processed (refund)");
  CHECK(root.state().balance() == amount("110.00"));
}

TEST_CASE("account: a rejected transfer step is not remembered", "[account]") {
  auto root = opened_with("5.00");
  require_rejected(root, debit{"t-1", amount("10.00")}, "insufficient funds");
  CHECK_FALSE(root.state().remembers("t-1", transfer_step::debit));
  require_accepted(root, deposit{amount("5.00")});
  require_accepted(root, debit{"t-1", amount("10.00")});
  CHECK(root.state().balance() == money{});
}

TEST_CASE("account: transfer steps need a transfer id", "[account]") {
  auto root = opened_with("5.00");
  require_rejected(root, debit{"", amount("1")}, "transfer_id must not be empty");
  require_rejected(root, credit{"", amount("1")}, "transfer_id must not be empty");
  require_rejected(root, refund{"", amount("1")}, "transfer_id must not be empty");
}

TEST_CASE("account: the transfer memory is bounded and forgets the oldest step first", "[account]") {
  auto root = opened_with("0");
  for (std::size_t i = 0; i < max_remembered_transfers; ++i)
    require_accepted(root, credit{"t-" + std::to_string(i), amount("1")});
  CHECK(root.state().remembered_transfers().size() == max_remembered_transfers);
  require_rejected(root, credit{"t-0", amount("1")}, "already processed");

  require_accepted(root, credit{"t-new", amount("1")});
  CHECK(root.state().remembered_transfers().size() == max_remembered_transfers);
  CHECK(root.state().remembers("t-new", transfer_step::credit));
  CHECK_FALSE(root.state().remembers("t-0", transfer_step::credit));
  CHECK(root.state().remembers("t-1", transfer_step::credit));

  require_accepted(root, credit{"t-newer", amount("1")});
  CHECK_FALSE(root.state().remembers("t-1", transfer_step::credit));
  CHECK(root.state().remembers("t-2", transfer_step::credit));
  CHECK(root.state().remembers("t-new", transfer_step::credit));
}

TEST_CASE("account: only an account with a zero balance closes, and a closed one is discarded", "[account]") {
  auto root = opened_with("10.00");
  require_rejected(root, close_account{}, "balance must be zero to close the account, is 10.00");
  require_accepted(root, withdraw{amount("10.00")});
  require_accepted(root, close_account{});
  CHECK(root.state().discarded());
  CHECK_FALSE(root.exists());
  for (const account::command& cmd : std::vector<account::command>{
         deposit{amount("1")}, withdraw{amount("1")}, debit{"t-1", amount("1")}, credit{"t-1", amount("1")},
         refund{"t-1", amount("1")}, close_account{}})
    require_rejected(root, cmd, "account is closed");
  require_rejected(root, open_account{"alice"}, "account already exists");
}

TEST_CASE("account: a snapshot restores the whole state, transfer memory included", "[account]") {
  auto root = opened_with("0");
  for (std::size_t i = 0; i < max_remembered_transfers + 5; ++i)
    require_accepted(root, credit{"t-" + std::to_string(i), amount("1")});
  auto restored = cairn::testing::restored_from_snapshot(root);
  CHECK(restored.version() == root.version());
  CHECK(restored.state() == root.state());
  require_rejected(restored, credit{"t-6", amount("1")}, "already processed");
  // Both forget the same step next: the ring position is part of the snapshot.
  require_accepted(restored, credit{"t-last", amount("1")});
  require_accepted(root, credit{"t-last", amount("1")});
  CHECK(restored.state() == root.state());
  CHECK_FALSE(restored.state().remembers("t-5", transfer_step::credit));
}
