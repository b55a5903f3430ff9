// Writes the fuzz targets' seed corpora (event_record, payload, inspect_json) from real encodings: every event type of the example domains (default
// values and realistic ones) as payloads and as stored log/stream values, the legacy records the order codec
// upcasts, snapshots and causation records. Run from the repository: fuzz-make-corpus tests/fuzz/corpus
#include "fuzz_domains.hpp"

#include "internal/layout.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

namespace {

using namespace cairn;
namespace layout = store::internal;
namespace fs = std::filesystem;

void write_file(const fs::path& dir, const std::string& name, const std::string& bytes) {
  fs::create_directories(dir);
  std::ofstream{dir / name, std::ios::binary} << bytes;
}

std::string log_value(const std::string& stream, std::uint64_t version, const store::event_record& e) {
  std::string out(1, layout::value_format);
  store::detail::put_varint(out, stream.size());
  out += stream;
  store::detail::put_varint(out, version);
  layout::put_event_head(out, e);
  return out + e.payload;
}

std::string stream_value(std::uint64_t position, const store::event_record& e) {
  std::string out(1, layout::value_format);
  store::detail::put_varint(out, position);
  layout::put_event_head(out, e);
  return out + e.payload;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz-make-corpus <corpus folder>\n");
    return 2;
  }
  const fs::path root = argv[1];
  const fs::path records = root / "event_record";
  const fs::path payloads = root / "payload";
  const fs::path renderings = root / "inspect_json"; // cairn-inspect renders log values
  std::uint64_t position = 0;
  const auto add_record = [&](const std::string& name, const store::event_record& r) {
    ++position;
    const std::string log = log_value("stream-" + std::to_string(position % 3), position, r);
    write_file(records, name + "-log", log);
    write_file(renderings, name, log);
    write_file(records, name + "-stream", stream_value(position, r));
  };

  // Every event type at its default value, in fuzz_payload.cpp's selector order.
  unsigned selector = 0;
  fuzz::for_each_event_type([&]<class E>(std::type_identity<E>) {
    const E e{};
    const auto r = store::make_event_record(e, 1'700'000'000'000'000 + selector);
    write_file(payloads, std::string{E::event_type}, std::string(1, static_cast<char>(selector)) + r.payload);
    add_record(std::string{E::event_type}, r);
    ++selector;
  });

  // Realistic values of the events that carry strings, money and lists.
  using namespace domains::orders;
  const std::vector<order_line> lines{{"p-1", "Pen", 2, money::from_minor(150)}, {"p-2", "Ink", 1, money{1200}}};
  add_record("order-created-real", store::make_event_record(order_created{"customer-42"}, 1));
  add_record("order-line-added-real", store::make_event_record(line_added{"p-1", "Pen", 2, money{150}}, 2));
  add_record("order-submitted-real", store::make_event_record(order_submitted{lines}, 3));
  add_record("order-rejected-real", store::make_event_record(order_rejected{"out of stock: p-2"}, 4));
  add_record("product-reserved-real",
             store::make_event_record(domains::inventory::stock_reserved{"order-7", 3}, 5));
  write_file(payloads, "order-submitted-real", std::string(1, '\3') + store::encode(order_submitted{lines}));

  // The legacy records that make_order_codec() upcasts.
  const auto legacy = [](std::string type, std::uint32_t v, std::string payload) {
    return store::event_record{std::move(type), v, 7, std::move(payload)};
  };
  add_record("legacy-line-added-v0",
             legacy("order.line_added", 0, store::encode(std::tuple<std::string, std::int64_t, std::int64_t>{
                                               "p-9", 4, 250})));
  add_record("legacy-item-added", legacy("order.item_added", 1, store::encode(std::tuple<std::string, std::int64_t,
                                                                                         std::int64_t>{"p-8", 1, 99})));
  add_record("legacy-lines-added", legacy("order.lines_added", 1, store::encode(lines)));
  add_record("legacy-audited", legacy("order.audited", 1, ""));
  add_record("legacy-broken", legacy("order.broken", 1, "x"));
  add_record("legacy-ping", legacy("order.ping", 1, ""));

  // Aggregate states as snapshots (selectors after the events), and the other stored values.
  order o;
  o.apply(order_created{"customer-42"});
  o.apply(line_added{"p-1", "Pen", 2, money{150}});
  write_file(payloads, "snapshot-order", std::string(1, static_cast<char>(selector)) + store::encode(o));
  std::string snapshot;
  layout::put_snapshot_value(snapshot, store::encode_snapshot(o, 2, order::snapshot_version));
  write_file(records, "snapshot-value", snapshot);
  std::string causation;
  layout::put_causation_value(causation, store::causation_record{"stock-policy", 17, false, "not enough", 0}, 3);
  write_file(records, "causation-value", causation);
  std::printf("wrote %s, %s and %s\n", records.c_str(), payloads.c_str(), renderings.c_str());
  return 0;
}
