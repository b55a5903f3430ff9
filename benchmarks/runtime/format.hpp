// How figures are printed, in cairn-bench's tables and in the generated docs/benchmarks.md alike: counts with
// thousands separators, latencies to the three significant figures a histogram bucket can tell.
//
// Thread-safety: pure functions.
#pragma once

#include <cmath>
#include <iomanip>
#include <sstream>
#include <string>

namespace cairn::bench {

/// 1234567.8 -> "1,234,568"
inline std::string grouped(double v) {
  auto digits = std::to_string(static_cast<long long>(std::llround(v)));
  const bool negative = !digits.empty() && digits[0] == '-';
  std::string out;
  const std::size_t first = negative ? 1 : 0;
  for (std::size_t i = first; i < digits.size(); ++i) {
    if (i > first && (digits.size() - i) % 3 == 0)
      out.push_back(',');
    out.push_back(digits[i]);
  }
  return negative ? "-" + out : out;
}

/// 3.14159, 2 -> "3.14"
inline std::string fixed(double v, int decimals) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(decimals) << v;
  return s.str();
}

/// Latencies in µs: "12,345", "52.3", "4.25".
inline std::string micros(double v) {
  return v >= 100 ? grouped(v) : fixed(v, v >= 10 ? 1 : 2);
}

} // namespace cairn::bench
