#include "report.hpp"

#include "format.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <stdexcept>

namespace cairn::bench {

namespace {

// The figure a scenario is about. Whether smaller or larger is better does not matter: the middle run of a sorted
// list is the same either way.
double headline(const result& r) {
  if (r.scenario == "lone" && r.p50_us)
    return *r.p50_us;
  if (r.activation_ms)
    return *r.activation_ms;
  if (r.rss_bytes_per_aggregate)
    return *r.rss_bytes_per_aggregate;
  return r.commands_per_s.value_or(0);
}

template <class T>
nlohmann::ordered_json or_null(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

struct column {
  std::string title;
  std::function<std::optional<std::string>(const result&)> cell;
};

template <class T, class F>
std::function<std::optional<std::string>(const result&)> field(std::optional<T> result::*member, F format) {
  return [member, format](const result& r) -> std::optional<std::string> {
    if (!(r.*member))
      return std::nullopt;
    return format(static_cast<double>(*(r.*member)));
  };
}

std::vector<column> columns() {
  const auto count = [](double v) { return grouped(v); };
  const auto one_decimal = [](double v) { return fixed(v, 1); };
  const auto two_decimals = [](double v) { return fixed(v, 2); };
  return {
    {"system", [](const result& r) { return std::optional{r.system}; }},
    {"in flight", field(&result::in_flight, count)},
    {"threads", field(&result::threads, count)},
    {"commands", field(&result::commands, count)},
    {"events", field(&result::events, count)},
    {"seconds", field(&result::seconds, two_decimals)},
    {"commands/s", field(&result::commands_per_s, count)},
    {"events/s", field(&result::events_per_s, count)},
    {"p50 us", field(&result::p50_us, micros)},
    {"p99 us", field(&result::p99_us, micros)},
    {"p99.9 us", field(&result::p999_us, micros)},
    {"events/fsync", field(&result::events_per_fsync, one_decimal)},
    {"appends/write", field(&result::appends_per_write, one_decimal)},
    {"activation ms", field(&result::activation_ms, two_decimals)},
    {"log replay events/s", field(&result::replay_events_per_s, count)},
    {"bytes/aggregate", field(&result::rss_bytes_per_aggregate, count)},
    {"fdatasync p50 us", field(&result::fdatasync_p50_us, micros)},
    {"p50/fdatasync", field(&result::p50_vs_fdatasync, two_decimals)},
    {"max active", field(&result::max_active, count)},
    {"peak active", field(&result::peak_active, count)},
    {"activations", field(&result::activations, count)},
    {"completed", field(&result::transfers_completed, count)},
    {"refunded", field(&result::transfers_compensated, count)},
    {"appends/s", field(&result::appends_per_s, count)},
    {"spread of runs", [](const result& r) -> std::optional<std::string> {
       if (r.runs < 2 || !r.headline_min || !r.headline_max)
         return std::nullopt;
       const auto show = [](double v) { return v >= 100 ? grouped(v) : fixed(v, 2); };
       return show(*r.headline_min) + " .. " + show(*r.headline_max);
     }},
    {"cairn vs", [](const result& r) -> std::optional<std::string> {
       if (r.ratio_vs.empty())
         return std::nullopt;
       std::string out;
       for (const auto& [name, ratio] : r.ratio_vs)
         out += (out.empty() ? "" : ", ") + name + " " + fixed(ratio, 2) + "x";
       return out;
     }},
  };
}

} // namespace

result make_result(const bench_options& opt, std::string system) {
  result r;
  r.scenario = std::string{to_string(opt.scenario)};
  r.system = std::move(system);
  r.durability = opt.durable ? "durable" : "buffered";
  r.aggregates = opt.aggregates;
  r.threads = opt.threads;
  return r;
}

result median_run(std::vector<result> runs) {
  if (runs.empty())
    throw std::logic_error{"median of no runs"};
  std::sort(runs.begin(), runs.end(), [](const result& a, const result& b) { return headline(a) < headline(b); });
  auto median = runs[(runs.size() - 1) / 2];
  median.runs = static_cast<unsigned>(runs.size());
  median.headline_min = headline(runs.front());
  median.headline_max = headline(runs.back());
  return median;
}

void add_ratios(result& cairn, const std::vector<result>& baselines) {
  for (const auto& b : baselines)
    if (cairn.commands_per_s && b.commands_per_s && *b.commands_per_s > 0)
      cairn.ratio_vs[b.system] = *cairn.commands_per_s / *b.commands_per_s;
}

void print_json(std::ostream& out, const result& r) {
  nlohmann::ordered_json j;
  j["scenario"] = r.scenario;
  j["system"] = r.system;
  j["durability"] = r.durability;
  j["aggregates"] = or_null(r.aggregates);
  j["in_flight"] = or_null(r.in_flight);
  j["threads"] = or_null(r.threads);
  j["commands"] = or_null(r.commands);
  j["events"] = or_null(r.events);
  j["seconds"] = or_null(r.seconds);
  j["commands_per_s"] = or_null(r.commands_per_s);
  j["events_per_s"] = or_null(r.events_per_s);
  j["p50_us"] = or_null(r.p50_us);
  j["p99_us"] = or_null(r.p99_us);
  j["p999_us"] = or_null(r.p999_us);
  j["events_per_fsync"] = or_null(r.events_per_fsync);
  j["rss_bytes_per_aggregate"] = or_null(r.rss_bytes_per_aggregate);
  j["ratio_vs"] = r.ratio_vs.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.ratio_vs);
  j["appends_per_write"] = or_null(r.appends_per_write);
  j["activation_ms"] = or_null(r.activation_ms);
  j["replay_events_per_s"] = or_null(r.replay_events_per_s);
  j["fdatasync_p50_us"] = or_null(r.fdatasync_p50_us);
  j["p50_vs_fdatasync"] = or_null(r.p50_vs_fdatasync);
  j["max_active"] = or_null(r.max_active);
  j["activations"] = or_null(r.activations);
  j["peak_active"] = or_null(r.peak_active);
  j["transfers_completed"] = or_null(r.transfers_completed);
  j["transfers_compensated"] = or_null(r.transfers_compensated);
  j["appends_per_s"] = or_null(r.appends_per_s);
  j["runs"] = r.runs;
  j["headline_min"] = or_null(r.headline_min);
  j["headline_max"] = or_null(r.headline_max);
  out << j.dump() << '\n';
}

void print_table(std::ostream& out, const bench_options& opt, const std::vector<result>& rows) {
  out << "scenario " << to_string(opt.scenario) << ": " << (opt.durable ? "durable" : "buffered") << ", "
      << grouped(static_cast<double>(opt.aggregates)) << (opt.aggregates == 1 ? " aggregate" : " aggregates");
  if (opt.repeat > 1)
    out << ", median of " << opt.repeat << " runs";
  out << '\n';

  std::vector<std::string> titles;
  std::vector<std::vector<std::string>> cells(rows.size());
  for (const auto& c : columns()) {
    std::vector<std::optional<std::string>> values;
    for (const auto& r : rows)
      values.push_back(c.cell(r));
    if (std::none_of(values.begin(), values.end(), [](const auto& v) { return v.has_value(); }))
      continue;
    titles.push_back(c.title);
    for (std::size_t i = 0; i < rows.size(); ++i)
      cells[i].push_back(values[i].value_or("-"));
  }
  std::vector<std::size_t> widths;
  for (std::size_t c = 0; c < titles.size(); ++c) {
    auto w = titles[c].size();
    for (const auto& row : cells)
      w = std::max(w, row[c].size());
    widths.push_back(w);
  }
  // The first column (names) reads best left-aligned, the figures right-aligned.
  const auto print_row = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size(); ++c) {
      out << (c == 0 ? "" : "  ");
      if (c == 0)
        out << std::left << std::setw(static_cast<int>(widths[c])) << row[c];
      else
        out << std::right << std::setw(static_cast<int>(widths[c])) << row[c];
    }
    out << '\n';
  };
  print_row(titles);
  for (const auto& row : cells)
    print_row(row);
  out << std::left;
}

} // namespace cairn::bench
