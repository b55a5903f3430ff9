// Transfers stored by the release before the transfer ran on cairn::saga (commit f5eab28's parent), upgraded by
// the upcasters of cairn/domains/transfer_upgrade.hpp: the old records are written straight into the store as the
// old code wrote them, then a runtime with the current domains (registered by shop::register_shop, which adds the
// upcasters) loads and finishes them.
#include <cairn/domains/account.hpp>
#include <cairn/domains/transfer.hpp>
#include <cairn/domains/transfer_upgrade.hpp>
#include <shop.hpp>

#include <cairn/store/codec.hpp>
#include <cairn/store/event_codec.hpp>
#include <cairn/store/event_store.hpp>

#include <support/temp_dir.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace cairn;
using namespace cairn::domains;

namespace old_release {

// The transfer's events as the old release declared them (git show f5eab28^:aggregates/include/cairn/domains/
// transfer.hpp): the same names and fields as today's, every one at schema version 1, and no step_answered.

struct transfer_started {
  static constexpr std::string_view event_type = "transfer.started";
  static constexpr std::uint32_t schema_version = 1;
  std::string transfer_id;
  std::string from;
  std::string to;
  money amount;
};

struct debit_accepted {
  static constexpr std::string_view event_type = "transfer.debit_accepted";
  static constexpr std::uint32_t schema_version = 1;
};

struct debit_refused {
  static constexpr std::string_view event_type = "transfer.debit_refused";
  static constexpr std::uint32_t schema_version = 1;
  std::string reason;
};

struct credit_accepted {
  static constexpr std::string_view event_type = "transfer.credit_accepted";
  static constexpr std::uint32_t schema_version = 1;
};

struct credit_refused {
  static constexpr std::string_view event_type = "transfer.credit_refused";
  static constexpr std::uint32_t schema_version = 1;
  std::string reason;
};

struct refund_accepted {
  static constexpr std::string_view event_type = "transfer.refund_accepted";
  static constexpr std::uint32_t schema_version = 1;
};

struct refund_refused {
  static constexpr std::string_view event_type = "transfer.refund_refused";
  static constexpr std::uint32_t schema_version = 1;
  std::string reason;
};

template <class Inspector>
auto inspect(Inspector& f, transfer_started& x) {
  return f(x.transfer_id, x.from, x.to, x.amount);
}

template <class Inspector>
auto inspect(Inspector& f, debit_accepted&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, debit_refused& x) {
  return f(x.reason);
}

template <class Inspector>
auto inspect(Inspector& f, credit_accepted&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, credit_refused& x) {
  return f(x.reason);
}

template <class Inspector>
auto inspect(Inspector& f, refund_accepted&) {
  return f();
}

template <class Inspector>
auto inspect(Inspector& f, refund_refused& x) {
  return f(x.reason);
}

/// The old transfer's snapshot (snapshot_version 1): its fields in its inspect() order, the status as its
/// underlying byte.
struct transfer_state {
  static constexpr std::uint32_t snapshot_version = 1;
  bool started = false;
  std::string transfer_id;
  std::string from;
  std::string to;
  money amount;
  std::uint8_t status = 0;
  std::uint64_t due_step = 0;
  std::string reason;
  bool stranded = false;
};

template <class Inspector>
auto inspect(Inspector& f, transfer_state& x) {
  return f(x.started, x.transfer_id, x.from, x.to, x.amount, x.status, x.due_step, x.reason, x.stranded);
}

template <class E>
store::event_record record(const E& e) {
  return store::make_event_record(e, 1'700'000'000'000'000);
}

/// Writes what the old release's runtime wrote: streams appended command by command, with the causation of a
/// transfer's step (source "transfer-<id>", sequence the step) on the account's append, and the open-process
/// marker of a transfer with a step due.
class writer {
public:
  explicit writer(const std::string& path) {
    store::options opts;
    opts.path = path;
    auto opened = store::event_store::open(opts);
    if (!opened)
      FAIL("cannot open the store at " << path << ": " << opened.error().to_string());
    store_ = std::move(*opened);
  }

  void append(const std::string& stream, std::vector<store::event_record> events,
              std::optional<store::causation_record> cause = std::nullopt) {
    store::append_request r;
    r.stream = stream;
    r.expected_version = heads_[stream];
    r.events = std::move(events);
    r.causation = std::move(cause);
    auto done = store_->append(r);
    if (!done)
      FAIL("cannot append to " << stream << ": " << done.error().to_string());
    heads_[stream] = done->new_version;
  }

  void open_account(const std::string& id, money balance) {
    append("account-" + id, {record(accounts::account_opened{id}), record(accounts::money_deposited{balance})});
  }

  /// A transfer step the account applied: its event with the causation the old runtime gave the step.
  template <class E>
  void step_applied(const std::string& account, const E& e, std::uint64_t step) {
    append("account-" + account, {record(e)}, store::causation_record{"transfer-" + e.transfer_id, step, true, {}, 0});
  }

  /// A transfer's events, one command per append; `open` keeps its open-process marker (a step is due), `snapshot`
  /// adds the old snapshot to the last append.
  void transfer(const std::string& id, const std::vector<store::event_record>& events, bool open,
                std::optional<transfer_state> snapshot = std::nullopt) {
    const auto stream = "transfer-" + id;
    for (std::size_t i = 0; i < events.size(); ++i) {
      store::append_request r;
      r.stream = stream;
      r.expected_version = heads_[stream];
      r.events = {events[i]};
      const bool last = i + 1 == events.size();
      r.runtime_puts.push_back(store::runtime_put{"open-process/" + stream,
                                                  open || !last ? std::optional<std::string>{""} : std::nullopt});
      if (last && snapshot)
        r.snapshot = store::snapshot_record{heads_[stream] + 1, transfer_state::snapshot_version,
                                            store::encode(*snapshot)};
      auto done = store_->append(r);
      if (!done)
        FAIL("cannot append to " << stream << ": " << done.error().to_string());
      heads_[stream] = done->new_version;
    }
  }

  const store::event_store& store() const {
    return *store_;
  }

private:
  std::unique_ptr<store::event_store> store_;
  std::map<std::string, std::uint64_t> heads_;
};

} // namespace old_release

namespace {

using transfers::transfer;
using answered = step_answered<transfer>;

runtime_config config_in(const test::temp_dir& dir) {
  runtime_config cfg;
  cfg.data_dir = dir.sub("db");
  cfg.scheduler_threads = 2;
  return cfg;
}

money cents(std::int64_t n) {
  return money::from_minor(n);
}

/// The balance of account `id`, in cents.
std::int64_t balance_of(runtime& rt, const std::string& id) {
  auto got = rt.get<accounts::account>(id);
  if (!got.ok())
    FAIL("cannot read account " << id << ": " << to_string(got.status));
  return got.root->state().balance().minor_units;
}

/// "transfer.started v1, transfer.debit_accepted v1, ...": what stream `stream` holds.
std::string describe(runtime& rt, const std::string& stream) {
  auto events = rt.store().read_stream(stream, 1, 1000);
  if (!events)
    return "unreadable: " + events.error().to_string();
  std::ostringstream out;
  for (const auto& e : *events)
    out << (out.tellp() > 0 ? ", " : "") << e.event.type << " v" << e.event.schema_version;
  return out.str();
}

/// Waits (20 s at most) until transfer `id`'s stream holds `version` events, reading the store only: activating
/// the transfer would send its outbox, and the test is that the runtime resumes the open transfer by itself.
void wait_stream_version(runtime& rt, const std::string& id, std::uint64_t version) {
  const auto stream = "transfer-" + id;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{20};
  for (;;) {
    auto head = rt.store().stream_version(stream);
    if (head && *head >= version)
      return;
    if (std::chrono::steady_clock::now() >= deadline)
      FAIL("transfer " << id << " has not reached version " << version << " after 20 s: " << describe(rt, stream));
    std::this_thread::sleep_for(std::chrono::milliseconds{5});
  }
}

std::vector<store::stored_event> stream_of(runtime& rt, const std::string& stream) {
  auto events = rt.store().read_stream(stream, 1, 1000);
  if (!events)
    FAIL("cannot read " << stream << ": " << events.error().to_string());
  return *events;
}

template <class E>
E decoded(const store::stored_event& e) {
  E out;
  REQUIRE(e.event.type == E::event_type);
  REQUIRE(e.event.schema_version == E::schema_version);
  REQUIRE(store::decode(e.event.payload, out));
  return out;
}

/// Account `id` as its stream in `s` makes it.
accounts::account replayed_account(const store::event_store& s, const std::string& id) {
  accounts::account a;
  const store::event_codec<accounts::account::event> codec;
  auto events = s.read_stream("account-" + id, 1, 1000);
  if (!events)
    FAIL("cannot read account " << id << ": " << events.error().to_string());
  for (const auto& stored : *events) {
    auto decoded = codec.decode(stored);
    if (!decoded)
      FAIL("cannot decode account " << id << ": " << decoded.error().to_string());
    for (const auto& e : *decoded)
      std::visit([&a](const auto& x) { a.apply(x); }, e);
  }
  return a;
}

/// The state the current transfer reaches from these events (what a transfer started today records).
transfer replayed(const std::vector<transfer::event>& events) {
  transfer t;
  for (const auto& e : events)
    std::visit([&t](const auto& x) { t.apply(x); }, e);
  return t;
}

} // namespace

TEST_CASE("transfer upgrade: each old answer event is upcast into the step it answered and itself at version 2",
          "[transfer_upgrade]") {
  store::event_codec<transfer::event> codec;
  transfers::add_upcasters(codec);
  auto decode = [&](const store::event_record& r) {
    auto events = codec.decode(r, "transfer-t", 2);
    if (!events)
      FAIL("cannot decode " << r.type << " v" << r.schema_version << ": " << events.error().to_string());
    return *events;
  };
  using events = std::vector<transfer::event>;
  using namespace transfers;
  CHECK(decode(old_release::record(old_release::transfer_started{"t", "ann", "bob", cents(2500)})) ==
        events{transfer_started{"t", "ann", "bob", cents(2500)}});
  CHECK(decode(old_release::record(old_release::debit_accepted{})) == events{answered{1, true, ""}, debit_accepted{}});
  CHECK(decode(old_release::record(old_release::credit_accepted{})) ==
        events{answered{2, true, ""}, credit_accepted{}});
  CHECK(decode(old_release::record(old_release::refund_accepted{})) ==
        events{answered{3, true, ""}, refund_accepted{}});
  // A refusal's answer gets the account's message back out of the reason the old transfer stored.
  CHECK(decode(old_release::record(old_release::debit_refused{"debit of 'ann' refused: insufficient funds"})) ==
        events{answered{1, false, "insufficient funds"}, debit_refused{"debit of 'ann' refused: insufficient funds"}});
  CHECK(decode(old_release::record(old_release::credit_refused{"credit of 'bob' refused"})) ==
        events{answered{2, false, ""}, credit_refused{"credit of 'bob' refused"}});
  CHECK(decode(old_release::record(old_release::refund_refused{"refund of 'a: b' refused: closed: for good"})) ==
        events{answered{3, false, "closed: for good"}, refund_refused{"refund of 'a: b' refused: closed: for good"}});
  CHECK(decode(old_release::record(old_release::credit_refused{"something else"})) ==
        events{answered{2, false, "something else"}, credit_refused{"something else"}});
  // Today's records decode as they are.
  CHECK(decode(store::make_event_record(debit_accepted{}, 1)) == events{debit_accepted{}});
  CHECK(decode(store::make_event_record(answered{1, true, ""}, 1)) == events{answered{1, true, ""}});
  // Builds between cairn::saga and the upgrade recorded step_answered before a version-1 answer: the upcast adds
  // a second step_answered for the same step, which finds the step already out of the outbox and changes nothing.
  transfer between;
  for (const auto& r : {old_release::record(old_release::transfer_started{"t", "ann", "bob", cents(2500)}),
                        store::make_event_record(answered{1, true, ""}, 1),
                        old_release::record(old_release::debit_accepted{})})
    for (const auto& e : decode(r))
      std::visit([&between](const auto& x) { between.apply(x); }, e);
  CHECK(between ==
        replayed({transfer_started{"t", "ann", "bob", cents(2500)}, answered{1, true, ""}, debit_accepted{}}));
  CHECK(between.due_step() == credit_step);
  CHECK(between.outbox().size() == 1);
}

TEST_CASE("transfer upgrade: finished transfers stored before cairn::saga load with the same state and nothing due",
          "[transfer_upgrade]") {
  using namespace transfers;
  test::temp_dir dir;
  auto cfg = config_in(dir);
  const auto amount = cents(2500);
  const std::string closed = "credit of 'bob' refused: account is closed";
  const std::string no_funds = "debit of 'ann' refused: insufficient funds";
  const std::string refund_closed = "refund of 'ann' refused: account is closed";
  {
    namespace old = old_release;
    old::writer w{cfg.data_dir};
    w.transfer("t-completed",
               {old::record(old::transfer_started{"t-completed", "ann", "bob", amount}),
                old::record(old::debit_accepted{}), old::record(old::credit_accepted{})},
               false);
    w.transfer("t-compensated",
               {old::record(old::transfer_started{"t-compensated", "ann", "bob", amount}),
                old::record(old::debit_accepted{}), old::record(old::credit_refused{closed}),
                old::record(old::refund_accepted{})},
               false, old::transfer_state{true, "t-compensated", "ann", "bob", amount, 3, 0, closed, false});
    w.transfer("t-failed",
               {old::record(old::transfer_started{"t-failed", "ann", "bob", amount}),
                old::record(old::debit_refused{no_funds})},
               false);
    w.transfer("t-stranded",
               {old::record(old::transfer_started{"t-stranded", "ann", "bob", amount}),
                old::record(old::debit_accepted{}), old::record(old::credit_refused{closed}),
                old::record(old::refund_refused{refund_closed})},
               false);
  }
  runtime rt{cfg};
  shop::register_shop(rt);
  REQUIRE(rt.start());

  struct expectation {
    std::string id;
    std::uint64_t version;
    transfer_status status;
    std::string reason;
    bool stranded;
    std::vector<transfer::event> today; // the same history as today's transfer records it
  };
  const std::vector<expectation> cases{
    {"t-completed", 3, transfer_status::completed, "", false,
     {transfer_started{"t-completed", "ann", "bob", amount}, answered{1, true, ""}, debit_accepted{},
      answered{2, true, ""}, credit_accepted{}}},
    {"t-compensated", 4, transfer_status::compensated, closed, false,
     {transfer_started{"t-compensated", "ann", "bob", amount}, answered{1, true, ""}, debit_accepted{},
      answered{2, false, "account is closed"}, credit_refused{closed}, answered{3, true, ""}, refund_accepted{}}},
    {"t-failed", 2, transfer_status::failed, no_funds, false,
     {transfer_started{"t-failed", "ann", "bob", amount}, answered{1, false, "insufficient funds"},
      debit_refused{no_funds}}},
    {"t-stranded", 4, transfer_status::failed, closed + "; " + refund_closed, true,
     {transfer_started{"t-stranded", "ann", "bob", amount}, answered{1, true, ""}, debit_accepted{},
      answered{2, false, "account is closed"}, credit_refused{closed}, answered{3, false, "account is closed"},
      refund_refused{refund_closed}}},
  };
  for (const auto& c : cases) {
    INFO("transfer " << c.id);
    auto got = rt.get<transfer>(c.id);
    REQUIRE(got.ok());
    const auto& t = got.root->state();
    CHECK(got.root->version() == c.version);
    CHECK(t.started());
    CHECK(t.transfer_id() == c.id);
    CHECK(t.from() == "ann");
    CHECK(t.to() == "bob");
    CHECK(t.amount() == amount);
    CHECK(t.status() == c.status);
    CHECK(t.reason() == c.reason);
    CHECK(t.stranded() == c.stranded);
    // Nothing left to send: a finished old transfer must not send its steps again.
    CHECK(t.due_step() == 0);
    CHECK(t.outbox().empty());
    CHECK(t == replayed(c.today));
  }
}

TEST_CASE("transfer upgrade: an open transfer stored before cairn::saga (debit answered, credit due) finishes, "
          "each amount moved once",
          "[transfer_upgrade]") {
  using namespace transfers;
  test::temp_dir dir;
  auto cfg = config_in(dir);
  const auto amount = cents(2500);
  {
    old_release::writer w{cfg.data_dir};
    w.open_account("ann", cents(10000));
    w.open_account("bob", cents(1000));
    // The old runtime sent the debit (step 1), ann applied it and the transfer recorded the answer; then it stopped
    // before sending the credit. Its old snapshot (due step 2) is there too: the new runtime must not read it.
    w.step_applied("ann", accounts::transfer_debited{"t-open", amount}, debit_step);
    w.transfer("t-open", {old_release::record(old_release::transfer_started{"t-open", "ann", "bob", amount}),
                          old_release::record(old_release::debit_accepted{})},
               true, old_release::transfer_state{true, "t-open", "ann", "bob", amount, 0, credit_step, "", false});
  }
  runtime rt{cfg};
  shop::register_shop(rt);
  REQUIRE(rt.start());

  wait_stream_version(rt, "t-open", 4);
  auto got = rt.get<transfer>("t-open");
  REQUIRE(got.ok());
  CHECK(got.root->state().status() == transfer_status::completed);
  CHECK(got.root->state().outbox().empty());
  // ann was debited once (by the old release), bob credited once (after the upgrade).
  CHECK(balance_of(rt, "ann") == 7500);
  CHECK(balance_of(rt, "bob") == 3500);
  CHECK(stream_of(rt, "account-ann").size() == 3);
  CHECK(stream_of(rt, "account-bob").size() == 3);
  // The credit went out as step 2 of the old numbering, with the causation the old runtime would have given it.
  auto cause = rt.store().causation("account-bob", "transfer-t-open");
  REQUIRE(cause);
  REQUIRE(cause->has_value());
  CHECK((*cause)->sequence == credit_step);
  // The transfer's stream: the two old records, then the answer to the credit as today's transfer records it.
  auto events = stream_of(rt, "transfer-t-open");
  REQUIRE(events.size() == 4);
  CHECK(events[1].event.schema_version == 1); // the stored records are not rewritten
  CHECK(decoded<answered>(events[2]) == answered{credit_step, true, ""});
  decoded<credit_accepted>(events[3]);
  // Nothing due any more: its open-process marker is gone.
  auto markers = rt.store().scan_runtime("open-process/transfer-", "", 10);
  REQUIRE(markers);
  CHECK(markers->empty());
}

TEST_CASE("transfer upgrade: a step the old release sent and the account applied, answer unrecorded, is recognised "
          "by its causation after the upgrade, even past the account's window",
          "[transfer_upgrade]") {
  using namespace transfers;
  test::temp_dir dir;
  auto cfg = config_in(dir);
  const auto amount = cents(2500);
  const auto fillers = static_cast<int>(accounts::max_remembered_transfers) + 1;
  {
    old_release::writer w{cfg.data_dir};
    w.open_account("ann", cents(10000));
    w.open_account("bob", cents(1000));
    w.step_applied("ann", accounts::transfer_debited{"t-late", amount}, debit_step);
    // The old runtime sent the credit (step 2) and bob applied it, but it stopped before the transfer recorded
    // the answer: the credit is still due in the old stream.
    w.step_applied("bob", accounts::transfer_credited{"t-late", amount}, credit_step);
    // Later credits push t-late's out of bob's window of remembered steps: only the causation can tell the
    // credit sent again after the upgrade from a new one.
    for (int i = 0; i < fillers; ++i)
      w.step_applied("bob", accounts::transfer_credited{"filler-" + std::to_string(i), cents(1)}, credit_step);
    w.transfer("t-late", {old_release::record(old_release::transfer_started{"t-late", "ann", "bob", amount}),
                          old_release::record(old_release::debit_accepted{})},
               true);
    REQUIRE_FALSE(replayed_account(w.store(), "bob").remembers("t-late", accounts::transfer_step::credit));
  }
  runtime rt{cfg};
  shop::register_shop(rt);
  REQUIRE(rt.start());

  wait_stream_version(rt, "t-late", 4);
  auto got = rt.get<transfer>("t-late");
  REQUIRE(got.ok());
  CHECK(got.root->state().status() == transfer_status::completed);
  CHECK(got.root->state().outbox().empty());
  CHECK(balance_of(rt, "ann") == 7500);
  CHECK(balance_of(rt, "bob") == 1000 + 2500 + fillers);
  CHECK(stream_of(rt, "account-ann").size() == 3);
  CHECK(stream_of(rt, "account-bob").size() == 3 + static_cast<std::size_t>(fillers));
  auto events = stream_of(rt, "transfer-t-late");
  REQUIRE(events.size() == 4);
  CHECK(decoded<answered>(events[2]) == answered{credit_step, true, ""});
  decoded<credit_accepted>(events[3]);
}
