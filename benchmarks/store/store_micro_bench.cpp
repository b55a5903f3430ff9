// store-micro-bench: Google Benchmark micro-benchmarks of the store's codecs, per event: the payload encoding
// (codec.hpp), an aggregate's event codec with and without upcasting (event_codec.hpp), and the parse of a
// stored value (the per-event cost of a replay above RocksDB's own).
#include "internal/layout.hpp"

#include <cairn/store/codec.hpp>
#include <cairn/store/event_codec.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

using namespace cairn::store;

struct line_added {
  static constexpr std::string_view event_type = "order.line_added";
  static constexpr std::uint32_t schema_version = 2;
  std::string sku;
  std::uint32_t quantity = 0;
  std::int64_t unit_price = 0;
  std::string currency;
};
template <class Inspector>
auto inspect(Inspector& f, line_added& x) {
  return f(x.sku, x.quantity, x.unit_price, x.currency);
}

struct placed {
  static constexpr std::string_view event_type = "order.placed";
  static constexpr std::uint32_t schema_version = 1;
  std::string customer;
  std::vector<std::string> tags;
};
template <class Inspector>
auto inspect(Inspector& f, placed& x) {
  return f(x.customer, x.tags);
}

struct line_added_v1 {
  std::string sku;
  std::uint32_t quantity = 0;
  std::int64_t unit_price = 0;
};
template <class Inspector>
auto inspect(Inspector& f, line_added_v1& x) {
  return f(x.sku, x.quantity, x.unit_price);
}

using event = std::variant<placed, line_added>;

const line_added sample{"SKU-12345-XL", 3, 1999, "EUR"};

void bm_encode(benchmark::State& state) {
  std::string out;
  for (auto _ : state) {
    out.clear();
    encode_to(out, sample);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_encode);

void bm_decode(benchmark::State& state) {
  const std::string bytes = encode(sample);
  line_added out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(decode(bytes, out));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_decode);

void bm_event_codec_decode(benchmark::State& state) {
  const event_codec<event> codec;
  const event_record record = codec.encode(event{sample}, 1'700'000'000'000'000);
  std::vector<event> out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(codec.decode_into(out, record, "order-1", 7));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_event_codec_decode);

void bm_event_codec_decode_upcast(benchmark::State& state) {
  event_codec<event> codec;
  codec.add_upcaster("order.line_added", 1, [](const event_record& r) -> result<std::vector<event_record>> {
    line_added_v1 old;
    if (auto st = decode(r.payload, old); !st)
      return st.error();
    return std::vector<event_record>{
        make_event_record(line_added{old.sku, old.quantity, old.unit_price, "EUR"}, r.timestamp_us)};
  });
  const event_record record{"order.line_added", 1, 0, encode(line_added_v1{"SKU-12345-XL", 3, 1999})};
  std::vector<event> out;
  for (auto _ : state) {
    out.clear();
    benchmark::DoNotOptimize(codec.decode_into(out, record, "order-1", 7));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_event_codec_decode_upcast);

void bm_parse_stored_value(benchmark::State& state) {
  const event_record record{"order.line_added", 2, 1'700'000'000'000'000, encode(sample)};
  std::string value(1, internal::value_format);
  detail::put_varint(value, 123456);
  internal::put_event_head(value, record);
  value += record.payload;
  std::uint64_t position = 0;
  event_record out;
  for (auto _ : state) {
    benchmark::DoNotOptimize(internal::parse_stream_value(value, position, out));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(bm_parse_stored_value);

} // namespace

BENCHMARK_MAIN();
