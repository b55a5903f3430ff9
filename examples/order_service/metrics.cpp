#include "metrics.hpp"

#include <cairn/runtime/runtime.hpp>

#include <cstdio>

namespace cairn::order_service {

namespace {

constexpr std::array<command_errc, 10> all_results{
  command_errc::none,          command_errc::rejected,      command_errc::conflict,
  command_errc::not_found,     command_errc::overloaded,    command_errc::storage_failure,
  command_errc::timeout,       command_errc::shutting_down, command_errc::invalid_argument,
  command_errc::unavailable};

std::string_view result_name(command_errc code) noexcept {
  return code == command_errc::none ? std::string_view{"accepted"} : to_string(code);
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::uint64_t value) {
  out.append(name);
  if (!labels.empty())
    out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(value)).append("\n");
}

std::string format_seconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", s);
  return text;
}

/// Subscription names are ours ("route:order_fulfillment", "stock_levels"), but escape them anyway.
std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

} // namespace

std::string_view to_string(command_kind kind) noexcept {
  switch (kind) {
    case command_kind::create_order:
      return "create_order";
    case command_kind::add_line:
      return "add_line";
    case command_kind::remove_line:
      return "remove_line";
    case command_kind::submit_order:
      return "submit_order";
    case command_kind::register_product:
      return "register_product";
  }
  return "unknown";
}

void service_metrics::record_command(command_kind kind, command_errc result,
                                     std::chrono::nanoseconds latency) noexcept {
  auto r = static_cast<std::size_t>(result);
  if (r < result_count)
    commands_[static_cast<std::size_t>(kind)][r].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(latency).count();
  std::size_t bucket = 0;
  while (bucket < latency_bounds.size() && seconds > latency_bounds[bucket])
    ++bucket;
  latency_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(static_cast<std::uint64_t>(latency.count()), std::memory_order_relaxed);
}

void service_metrics::record_response(unsigned status) noexcept {
  if (status < status_slots)
    responses_[status].fetch_add(1, std::memory_order_relaxed);
}

void service_metrics::connection_opened() noexcept {
  connections_.fetch_add(1, std::memory_order_relaxed);
}

void service_metrics::connection_closed() noexcept {
  connections_.fetch_sub(1, std::memory_order_relaxed);
}

void service_metrics::connection_refused() noexcept {
  connections_refused_.fetch_add(1, std::memory_order_relaxed);
}

void service_metrics::connection_reclaimed() noexcept {
  connections_reclaimed_.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t service_metrics::reclaimed_connections() const noexcept {
  return connections_reclaimed_.load(std::memory_order_relaxed);
}

std::uint64_t service_metrics::commands(command_kind kind, command_errc result) const noexcept {
  auto r = static_cast<std::size_t>(result);
  return r < result_count ? commands_[static_cast<std::size_t>(kind)][r].load(std::memory_order_relaxed) : 0;
}

std::uint64_t service_metrics::responses(unsigned status) const noexcept {
  return status < status_slots ? responses_[status].load(std::memory_order_relaxed) : 0;
}

std::int64_t service_metrics::open_connections() const noexcept {
  return connections_.load(std::memory_order_relaxed);
}

std::string service_metrics::render(const runtime& rt) const {
  std::string out;
  out.reserve(8192);

  header(out, "cairn_commands_total", "counter", "Commands answered, by type and result.");
  for (std::size_t k = 0; k < command_kind_count; ++k)
    for (auto result : all_results) {
      std::string labels = "type=\"";
      labels.append(to_string(static_cast<command_kind>(k))).append("\",result=\"");
      labels.append(result_name(result)).append("\"");
      sample(out, "cairn_commands_total", labels, commands(static_cast<command_kind>(k), result));
    }

  header(out, "cairn_command_duration_seconds", "histogram",
         "Time from a command's request to its answer (accepted: committed in the configured durability).");
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b <= latency_bounds.size(); ++b) {
    cumulative += latency_buckets_[b].load(std::memory_order_relaxed);
    auto le = b < latency_bounds.size() ? format_seconds(latency_bounds[b]) : std::string{"+Inf"};
    sample(out, "cairn_command_duration_seconds_bucket", "le=\"" + le + "\"", cumulative);
  }
  out.append("cairn_command_duration_seconds_sum ")
    .append(format_seconds(static_cast<double>(latency_sum_ns_.load(std::memory_order_relaxed)) / 1e9))
    .append("\n");
  sample(out, "cairn_command_duration_seconds_count", "", cumulative);

  auto stats = rt.stats();
  header(out, "cairn_commit_batch_size", "summary",
         "Appends (commands) per RocksDB write of the group committer: _sum appends over _count writes.");
  sample(out, "cairn_commit_batch_size_sum", "", stats.appends);
  sample(out, "cairn_commit_batch_size_count", "", stats.batches);
  header(out, "cairn_commit_batch_size_max", "gauge", "The largest commit batch so far.");
  sample(out, "cairn_commit_batch_size_max", "", stats.largest_batch);
  header(out, "cairn_store_fsyncs_total", "counter", "WAL fsyncs of the store.");
  sample(out, "cairn_store_fsyncs_total", "", stats.store_syncs);
  header(out, "cairn_store_events_total", "counter", "Events committed since the store was opened.");
  sample(out, "cairn_store_events_total", "", stats.store_events);
  header(out, "cairn_active_aggregates", "gauge", "Aggregate instances active (in memory) now.");
  sample(out, "cairn_active_aggregates", "", stats.active_instances);
  header(out, "cairn_commands_in_flight", "gauge", "Commands admitted by the runtime and not yet answered.");
  sample(out, "cairn_commands_in_flight", "", stats.in_flight);

  auto subs = rt.subscriptions();
  header(out, "cairn_subscription_lag_events", "gauge", "Committed events a subscription has not processed yet.");
  for (const auto& s : subs)
    sample(out, "cairn_subscription_lag_events", "subscription=\"" + label_value(s.name) + "\"", s.lag);
  header(out, "cairn_subscription_position", "gauge", "The last global log position a subscription processed.");
  for (const auto& s : subs)
    sample(out, "cairn_subscription_position", "subscription=\"" + label_value(s.name) + "\"", s.position);

  header(out, "cairn_http_responses_total", "counter", "HTTP responses, by status code.");
  for (unsigned code = 100; code < status_slots; ++code)
    if (auto n = responses(code); n > 0)
      sample(out, "cairn_http_responses_total", "code=\"" + std::to_string(code) + "\"", n);
  header(out, "cairn_http_connections", "gauge", "Open HTTP connections.");
  out.append("cairn_http_connections ").append(std::to_string(open_connections())).append("\n");
  header(out, "cairn_http_connections_refused_total", "counter", "Connections refused at the connection limit.");
  sample(out, "cairn_http_connections_refused_total", "", connections_refused_.load(std::memory_order_relaxed));
  header(out, "cairn_http_connections_reclaimed_total", "counter",
         "Connections closed at the connection limit to make room, having waited too long for a request.");
  sample(out, "cairn_http_connections_reclaimed_total", "", reclaimed_connections());
  return out;
}

} // namespace cairn::order_service
