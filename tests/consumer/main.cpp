// An outside project's program, built against the installed package (find_package(cairn)) with cairn's public
// headers only: an aggregate of its own on the runtime, a typed projection and a unit of work, then a store round
// trip. Usage: consumer DATA_DIR; exits 0 when every check holds.
#include <cairn/aggregate.hpp>
#include <cairn/runtime/runtime.hpp>
#include <cairn/store/event_store.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

// The public API keeps CAF to the programs that ask for it (cairn/runtime/gateway.hpp): these headers must not
// have pulled in any CAF header.
#ifdef CAF_VERSION
#error "a cairn public header included a CAF header"
#endif

namespace {

struct add {
  static constexpr bool creates_aggregate = true;
  std::int64_t amount = 0;
};
template <class F>
auto inspect(F& f, add& x) {
  return f(x.amount);
}
struct added {
  static constexpr std::string_view event_type = "tally.added";
  static constexpr std::uint32_t schema_version = 1;
  std::int64_t amount = 0;
};
template <class F>
auto inspect(F& f, added& x) {
  return f(x.amount);
}

class tally {
public:
  using command = std::variant<add>;
  using event = std::variant<added>;
  static constexpr std::string_view type_name = "tally";

  cairn::decision<event> handle(const add& c) const {
    if (c.amount <= 0)
      return cairn::reject("amounts are positive");
    return event{added{c.amount}};
  }
  void apply(const added& e) {
    total_ += e.amount;
  }
  std::int64_t total() const {
    return total_;
  }

private:
  std::int64_t total_ = 0;
};

int fail(const char* what) {
  std::fprintf(stderr, "consumer: %s\n", what);
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer DATA_DIR\n");
    return 2;
  }
  std::filesystem::create_directories(argv[1]);
  cairn::runtime_config cfg;
  cfg.data_dir = std::string{argv[1]} + "/runtime";
  cairn::runtime rt{cfg};
  rt.register_aggregate<tally>();
  rt.add_projection<tally>("totals", cairn::handlers{
    [](const added& e, const cairn::event_meta& m, cairn::projection_writer& w) {
      w.put(m.aggregate_id, std::to_string(e.amount) + "@" + std::to_string(m.version));
    }});
  if (auto started = rt.start(); !started)
    return fail(started.error().to_string().c_str());

  // An aggregate: accepted, rejected.
  if (!rt.execute("t-1", add{5}).ok() || rt.execute("t-1", add{-1}).code != cairn::command_errc::rejected)
    return fail("commands were not answered as expected");

  // A unit of work: two commands on a local copy, saved in one append.
  auto loaded = rt.load<tally>("t-1");
  if (!loaded.ok())
    return fail("load failed");
  auto& copy = *loaded.copy;
  copy.execute(add{2});
  copy.execute(add{3});
  if (copy.pending().size() != 2 || rt.get<tally>("t-1").root->state().total() != 5)
    return fail("the copy's events leaked before the save");
  if (!rt.save(copy).ok() || rt.get<tally>("t-1").root->state().total() != 10)
    return fail("the save did not commit the pending events");

  // The typed projection saw the last event.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{10};
  std::optional<std::string> last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto value = rt.store().projection_value(cairn::projection_key("totals", "t-1"));
    if (value && *value && **value == "3@3") {
      last = **value;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  if (!last)
    return fail("the typed projection did not reach version 3 within 10 s");
  rt.stop();

  // The store on its own.
  cairn::store::options opts;
  opts.path = std::string{argv[1]} + "/store";
  auto store = cairn::store::event_store::open(opts);
  if (!store)
    return fail(store.error().to_string().c_str());
  cairn::store::append_request request;
  request.stream = "consumer-1";
  request.events.push_back(cairn::store::event_record{"consumer.hello", 1, 0, "hi"});
  auto appended = (*store)->append(request);
  auto read = (*store)->read_stream("consumer-1", 1, 10);
  if (!appended || !read || read->size() != 1 || read->front().event.payload != "hi")
    return fail("store round trip failed");
  std::printf("consumer: find_package(cairn) works; an aggregate, a typed projection and a unit of work ran\n");
  return 0;
}
