#include "report.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <tuple>

namespace cairn::subbench {

namespace {

template <class T>
nlohmann::ordered_json or_null(const std::optional<T>& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(nullptr);
}

auto group_key(const row& r) {
  return std::tuple{r.scenario, r.system, r.durability, r.subscriptions.value_or(0)};
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[(v.size() - 1) / 2];
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string si(double v) {
  if (v >= 1e6)
    return fixed(v / 1e6, 2) + "M";
  if (v >= 1e3)
    return fixed(v / 1e3, 1) + "K";
  return fixed(v, 0);
}

} // namespace

double headline(const row& r) {
  return r.events_per_s ? *r.events_per_s : r.commands_per_s.value_or(0);
}

std::vector<row> medians(const std::vector<row>& rows) {
  std::vector<row> out;
  std::vector<bool> used(rows.size(), false);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (used[i])
      continue;
    std::vector<row> group;
    for (std::size_t k = i; k < rows.size(); ++k)
      if (!used[k] && group_key(rows[k]) == group_key(rows[i])) {
        used[k] = true;
        group.push_back(rows[k]);
      }
    std::sort(group.begin(), group.end(), [](const row& a, const row& b) { return headline(a) < headline(b); });
    row m = group[(group.size() - 1) / 2];
    m.runs = static_cast<unsigned>(group.size());
    m.headline_min = headline(group.front());
    m.headline_max = headline(group.back());
    for (auto& [name, ratio] : m.ratio_vs) {
      std::vector<double> ratios;
      for (const auto& g : group)
        if (auto it = g.ratio_vs.find(name); it != g.ratio_vs.end())
          ratios.push_back(it->second);
      ratio = median_of(ratios);
    }
    out.push_back(std::move(m));
  }
  return out;
}

void print_table(std::ostream& out, const std::vector<row>& rows) {
  char line[512];
  std::snprintf(line, sizeof line, "%-16s %-18s %-8s %4s %9s %8s %10s %10s %-28s %9s %9s %8s\n", "scenario",
                "system", "durab.", "subs", "events", "seconds", "events/s", "cmds/s", "ratio vs (same run)", "lag",
                "max lag", "rss MB");
  out << line;
  for (const auto& r : rows) {
    std::string ratios;
    for (const auto& [name, ratio] : r.ratio_vs)
      ratios += (ratios.empty() ? "" : " ") + name + "=" + fixed(ratio, 2);
    std::snprintf(line, sizeof line, "%-16s %-18s %-8s %4s %9s %8s %10s %10s %-28s %9s %9s %8s\n",
                  r.scenario.c_str(), r.system.c_str(), r.durability.c_str(),
                  r.subscriptions ? std::to_string(*r.subscriptions).c_str() : "",
                  r.events ? std::to_string(*r.events).c_str() : "", r.seconds ? fixed(*r.seconds, 3).c_str() : "",
                  r.events_per_s ? si(*r.events_per_s).c_str() : "",
                  r.commands_per_s ? si(*r.commands_per_s).c_str() : "", ratios.c_str(),
                  r.lag ? std::to_string(*r.lag).c_str() : "", r.max_lag ? std::to_string(*r.max_lag).c_str() : "",
                  r.rss_bytes ? fixed(static_cast<double>(*r.rss_bytes) / (1 << 20), 1).c_str() : "");
    out << line;
    if (r.runs > 1)
      out << "    " << r.runs << " runs, headline min " << si(r.headline_min.value_or(0)) << " max "
          << si(r.headline_max.value_or(0)) << "\n";
    if (!r.timed.empty())
      out << "    timed: " << r.timed << "\n";
  }
}

void print_json(std::ostream& out, const row& r) {
  nlohmann::ordered_json j;
  j["scenario"] = r.scenario;
  j["system"] = r.system;
  j["durability"] = r.durability;
  j["subscriptions"] = or_null(r.subscriptions);
  j["events"] = or_null(r.events);
  j["commands"] = or_null(r.commands);
  j["seconds"] = or_null(r.seconds);
  j["events_per_s"] = or_null(r.events_per_s);
  j["commands_per_s"] = or_null(r.commands_per_s);
  j["ratio_vs"] = r.ratio_vs.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.ratio_vs);
  j["lag"] = or_null(r.lag);
  j["max_lag"] = or_null(r.max_lag);
  j["live_fraction"] = or_null(r.live_fraction);
  j["rss_bytes"] = or_null(r.rss_bytes);
  j["timed"] = r.timed;
  j["runs"] = r.runs;
  j["headline_min"] = or_null(r.headline_min);
  j["headline_max"] = or_null(r.headline_max);
  out << j.dump() << "\n";
}

} // namespace cairn::subbench
