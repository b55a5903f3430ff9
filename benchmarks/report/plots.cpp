#include "plots.hpp"

#include <fstream>
#include <stdexcept>

namespace cairn::bench::report {

namespace {

std::ofstream open_for_writing(const std::filesystem::path& p) {
  std::ofstream out{p};
  if (!out)
    throw std::runtime_error{"cannot write " + p.string()};
  return out;
}

/// A figure, or gnuplot's missing-value mark.
std::string cell(const json* r, const std::string& key) {
  if (r == nullptr)
    return "?";
  const auto v = number(*r, key);
  return v ? std::to_string(*v) : "?";
}

/// One line per sweep point: in flight, then for each system the given keys.
bool write_sweep_data(const suite_results& results, const std::string& durability,
                      const std::vector<std::string>& keys, const std::filesystem::path& file) {
  auto out = open_for_writing(file);
  out << "# in_flight";
  for (const auto& s : sweep_systems)
    for (const auto& k : keys)
      out << ' ' << s << ':' << k;
  out << '\n';
  bool any = false;
  for (const auto c : sweep_in_flight) {
    const auto* inv = results.find(sweep_id(durability, c));
    if (inv == nullptr)
      continue;
    any = true;
    out << c;
    for (const auto& s : sweep_systems)
      for (const auto& k : keys)
        out << ' ' << cell(inv->system(s), k);
    out << '\n';
  }
  return any;
}

std::string quoted(const std::filesystem::path& p) {
  // Appended piece by piece: g++ 12 warns (-Wrestrict) about "'" + string + "'" in this inlining context.
  std::string out{"'"};
  out.append(p.string()).push_back('\'');
  return out;
}

} // namespace

std::string sweep_id(const std::string& durability, int in_flight) {
  return "sweep-" + durability + "-" + std::to_string(in_flight);
}

std::vector<std::string> write_plots(const suite_results& results, const std::filesystem::path& work_dir,
                                     const std::filesystem::path& image_dir) {
  std::vector<std::string> pngs;
  auto gp = open_for_writing(work_dir / "plots.gp");
  gp << "# Written by bench-report; run with gnuplot.\n"
        "set terminal pngcairo size 900,560 font ',11'\n"
        "set datafile missing '?'\n"
        "set logscale xy\n"
        "set format y '%.0s%c'\n"
        "set grid\n"
        "set key outside right top\n"
        "set xlabel 'commands in flight'\n"
        "set xtics (1, 10, 100, 1000)\n";
  const std::vector<std::string> colors{"#1f77b4", "#d62728", "#2ca02c"};
  for (const std::string durability : {"durable", "buffered"}) {
    const auto throughput = work_dir / ("throughput-" + durability + ".dat");
    if (write_sweep_data(results, durability, {"commands_per_s"}, throughput)) {
      const auto png = "throughput-" + durability + ".png";
      pngs.push_back(png);
      gp << "set output " << quoted(image_dir / png) << "\n"
         << "set title 'uniform, " << durability
         << ": commands/s by commands in flight (10,000 aggregates, same run)'\n"
         << "set ylabel 'commands/s'\n"
         << "plot ";
      for (std::size_t s = 0; s < sweep_systems.size(); ++s)
        gp << (s == 0 ? "" : ", ") << quoted(throughput) << " using 1:" << s + 2
           << " with linespoints lw 2 pt 7 lc rgb '" << colors[s] << "' title '" << sweep_systems[s] << "'";
      gp << "\n";
    }
    const auto latency = work_dir / ("latency-" + durability + ".dat");
    const std::vector<std::string> percentiles{"p50_us", "p99_us", "p999_us"};
    if (write_sweep_data(results, durability, percentiles, latency)) {
      const auto png = "latency-" + durability + ".png";
      pngs.push_back(png);
      gp << "set output " << quoted(image_dir / png) << "\n"
         << "set title 'uniform, " << durability << ": latency by commands in flight (same run)'\n"
         << "set ylabel 'latency, µs'\n"
         << "plot ";
      const std::vector<std::string> names{"p50", "p99", "p99.9"};
      for (std::size_t s = 0; s < sweep_systems.size(); ++s)
        for (std::size_t p = 0; p < percentiles.size(); ++p)
          gp << (s + p == 0 ? "" : ", ") << quoted(latency) << " using 1:" << 2 + s * percentiles.size() + p
             << " with linespoints lw 2 pt " << 7 + p << " dt " << p + 1 << " lc rgb '" << colors[s] << "' title '"
             << sweep_systems[s] << " " << names[p] << "'";
      gp << "\n";
    }
  }
  return pngs;
}

} // namespace cairn::bench::report
