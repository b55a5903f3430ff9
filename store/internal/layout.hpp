// Internal: the store's on-disk layout (store format 2): column family names, keys and the value encodings, as
// specified in docs/store.md. Nothing here touches RocksDB; the parsers never read out of bounds.
#pragma once

#include <cairn/store/codec.hpp>
#include <cairn/store/event_store.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cairn::store::internal {

inline constexpr std::string_view cf_meta = "default";
inline constexpr std::string_view cf_streams = "streams";
inline constexpr std::string_view cf_log = "log";
inline constexpr std::string_view cf_heads = "heads";
inline constexpr std::string_view cf_snapshots = "snapshots";
inline constexpr std::string_view cf_tracking = "tracking";
inline constexpr std::string_view cf_causations = "causations";
inline constexpr std::string_view cf_projections = "projections";
/// The runtime's own keys (format 2), apart from the projections' so that no projection name collides with them.
inline constexpr std::string_view cf_runtime = "runtime";

/// Every column family of a store. causations and projections came later in format 1 (open adds them to an older
/// database); runtime came with format 2.
inline constexpr std::array<std::string_view, 9> column_families{
    cf_meta, cf_streams, cf_log, cf_heads, cf_snapshots, cf_tracking, cf_causations, cf_projections, cf_runtime};

/// The oldest store format that open() upgrades to store_format_version (read-write opens only).
inline constexpr std::uint32_t oldest_upgradable_format = 1;

/// Format 1 kept the runtime's open-process markers among the projections' keys under this prefix; the upgrade to
/// format 2 moves each to cf_runtime, as format1_runtime_key_prefix_now followed by the rest of its key.
inline constexpr std::string_view format1_runtime_key_prefix = "cairn.open-process/";
inline constexpr std::string_view format1_runtime_key_prefix_now = "open-process/";

inline bool is_cairn_cf(std::string_view name) noexcept {
  for (const auto cf : column_families)
    if (cf == name)
      return true;
  return false;
}

/// The key in cf_meta that holds the store format version (4 bytes big-endian).
inline constexpr std::string_view meta_format_key = "cairn.format";

/// The first byte of every event and snapshot value; a later format may add others.
inline constexpr char value_format = '\x01';

/// Stream names cannot contain it, so "name\0<version>" keys of different streams never interleave.
inline constexpr char stream_key_separator = '\0';

inline void put_be64(char* out, std::uint64_t v) noexcept {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(static_cast<std::uint8_t>(v));
    v >>= 8;
  }
}

inline std::uint64_t get_be64(const char* in) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v = (v << 8) | static_cast<std::uint8_t>(in[i]);
  return v;
}

inline std::string be64(std::uint64_t v) {
  std::string out(8, '\0');
  put_be64(out.data(), v);
  return out;
}

inline std::string be32(std::uint32_t v) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = static_cast<char>(static_cast<std::uint8_t>(v));
    v >>= 8;
  }
  return out;
}

/// "stream\0" followed by the big-endian version, the key of one event in cf_streams.
inline std::string stream_key(std::string_view stream, std::uint64_t version) {
  std::string key;
  key.reserve(stream.size() + 9);
  key.append(stream);
  key.push_back(stream_key_separator);
  char buf[8];
  put_be64(buf, version);
  key.append(buf, 8);
  return key;
}

/// The smallest key after every event of `stream`.
inline std::string stream_end_key(std::string_view stream) {
  std::string key{stream};
  key.push_back(static_cast<char>(stream_key_separator + 1));
  return key;
}

/// The part of an event value shared by cf_streams and cf_log, up to (not including) the payload bytes:
/// varint schema_version, zigzag varint timestamp_us, varint type length, type, varint payload length.
inline void put_event_head(std::string& out, const event_record& e) {
  detail::put_varint(out, e.schema_version);
  detail::put_varint(out, detail::zigzag(e.timestamp_us));
  detail::put_varint(out, e.type.size());
  out.append(e.type);
  detail::put_varint(out, e.payload.size());
}

/// Reads what put_event_head() wrote followed by the payload, which must end exactly at the end of `value`.
/// Returns a description of the defect, or nullptr.
inline const char* parse_event(std::string_view value, std::size_t& pos, event_record& out) {
  std::uint64_t schema = 0;
  std::uint64_t ts = 0;
  std::uint64_t type_size = 0;
  std::uint64_t payload_size = 0;
  if (!detail::get_varint(value, pos, schema) || schema > UINT32_MAX)
    return "bad schema version";
  if (!detail::get_varint(value, pos, ts))
    return "bad timestamp";
  if (!detail::get_varint(value, pos, type_size) || type_size > value.size() - pos)
    return "bad event type";
  const std::string_view type = value.substr(pos, static_cast<std::size_t>(type_size));
  pos += static_cast<std::size_t>(type_size);
  if (!detail::get_varint(value, pos, payload_size) || payload_size != value.size() - pos)
    return "bad payload length";
  out.schema_version = static_cast<std::uint32_t>(schema);
  out.timestamp_us = detail::unzigzag(ts);
  out.type.assign(type);
  out.payload.assign(value.substr(pos));
  pos = value.size();
  return nullptr;
}

/// cf_streams value: format byte, varint global position, then the event (put_event_head + payload).
inline const char* parse_stream_value(std::string_view value, std::uint64_t& position, event_record& out) {
  std::size_t pos = 0;
  if (value.empty() || value[0] != value_format)
    return "unknown value format";
  pos = 1;
  if (!detail::get_varint(value, pos, position) || position == 0)
    return "bad position";
  return parse_event(value, pos, out);
}

/// cf_log value: format byte, varint stream length, stream, varint version, then the event.
inline const char* parse_log_value(std::string_view value, std::string& stream, std::uint64_t& version,
                                   event_record& out) {
  std::size_t pos = 0;
  if (value.empty() || value[0] != value_format)
    return "unknown value format";
  pos = 1;
  std::uint64_t stream_size = 0;
  if (!detail::get_varint(value, pos, stream_size) || stream_size == 0 || stream_size > max_stream_name_bytes ||
      stream_size > value.size() - pos)
    return "bad stream name";
  stream.assign(value.substr(pos, static_cast<std::size_t>(stream_size)));
  pos += static_cast<std::size_t>(stream_size);
  if (!detail::get_varint(value, pos, version) || version == 0)
    return "bad version";
  return parse_event(value, pos, out);
}

/// cf_snapshots value: format byte, varint version, varint schema_version, varint payload length, payload.
inline void put_snapshot_value(std::string& out, const snapshot_record& s) {
  out.push_back(value_format);
  detail::put_varint(out, s.version);
  detail::put_varint(out, s.schema_version);
  detail::put_varint(out, s.payload.size());
  out.append(s.payload);
}

inline const char* parse_snapshot_value(std::string_view value, snapshot_record& out) {
  std::size_t pos = 0;
  if (value.empty() || value[0] != value_format)
    return "unknown value format";
  pos = 1;
  std::uint64_t version = 0;
  std::uint64_t schema = 0;
  std::uint64_t size = 0;
  if (!detail::get_varint(value, pos, version) || version == 0)
    return "bad version";
  if (!detail::get_varint(value, pos, schema) || schema > UINT32_MAX)
    return "bad schema version";
  if (!detail::get_varint(value, pos, size) || size != value.size() - pos)
    return "bad payload length";
  out.version = version;
  out.schema_version = static_cast<std::uint32_t>(schema);
  out.payload.assign(value.substr(pos));
  return nullptr;
}

/// "stream\0source", the key of a causation record in cf_causations. Neither name contains NUL, so each pair has
/// its own key and the records of one stream are one contiguous range.
inline std::string causation_key(std::string_view stream, std::string_view source) {
  std::string key;
  key.reserve(stream.size() + 1 + source.size());
  key.append(stream);
  key.push_back(stream_key_separator);
  key.append(source);
  return key;
}

/// cf_causations value: format byte, varint sequence, varint version, accepted byte (0 or 1), varint message
/// length, message (which ends the value exactly).
inline void put_causation_value(std::string& out, const causation_record& c, std::uint64_t version) {
  out.push_back(value_format);
  detail::put_varint(out, c.sequence);
  detail::put_varint(out, version);
  out.push_back(c.accepted ? '\x01' : '\x00');
  detail::put_varint(out, c.message.size());
  out.append(c.message);
}

/// Reads what put_causation_value() wrote; `out.source` is left to the caller (it is in the key).
inline const char* parse_causation_value(std::string_view value, causation_record& out) {
  std::size_t pos = 0;
  if (value.empty() || value[0] != value_format)
    return "unknown value format";
  pos = 1;
  std::uint64_t sequence = 0;
  std::uint64_t version = 0;
  std::uint64_t size = 0;
  if (!detail::get_varint(value, pos, sequence))
    return "bad sequence";
  if (!detail::get_varint(value, pos, version))
    return "bad version";
  if (pos >= value.size() || (value[pos] != '\x00' && value[pos] != '\x01'))
    return "bad accepted flag";
  const bool accepted = value[pos] == '\x01';
  ++pos;
  if (!detail::get_varint(value, pos, size) || size != value.size() - pos)
    return "bad message length";
  out.sequence = sequence;
  out.version = version;
  out.accepted = accepted;
  out.message.assign(value.substr(pos));
  return nullptr;
}

/// The smallest key after every key that starts with `prefix`; empty when there is none (the prefix is empty or
/// all 0xff bytes), i.e. the range is unbounded above.
inline std::string prefix_end_key(std::string_view prefix) {
  std::string key{prefix};
  while (!key.empty()) {
    const auto last = static_cast<unsigned char>(key.back());
    if (last != 0xff) {
      key.back() = static_cast<char>(last + 1);
      return key;
    }
    key.pop_back();
  }
  return key;
}

} // namespace cairn::store::internal
