#include "odyn/io/plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "odyn/core/error.hpp"

#include <stb/stb_easy_font.h>

namespace odyn::io {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kCapHeight = 7;  // height of digits and capitals in stb_easy_font units
constexpr Color kInk{40, 40, 40}, kGrey{150, 150, 150}, kGrid{228, 228, 228}, kWhite{255, 255, 255};
constexpr Color kPalette[] = {{31, 119, 180}, {255, 127, 14},  {44, 160, 44},   {214, 39, 40},  {148, 103, 189},
                              {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}};
// Stops of a perceptually ordered dark-blue -> teal -> green -> yellow colour map.
constexpr Color kColormap[] = {{68, 1, 84},    {65, 68, 135},  {42, 120, 142},
                               {34, 168, 132}, {122, 209, 81}, {253, 231, 37}};

Color colormap(double t) {
  const double u = std::clamp(t, 0.0, 1.0) * 5;
  const int i = std::min(int(u), 4);
  const double w = u - i;
  auto mix = [w](std::uint8_t a, std::uint8_t b) { return std::uint8_t(a + w * (b - a) + 0.5); };
  const Color a = kColormap[i], b = kColormap[i + 1];
  return {mix(a.r, b.r), mix(a.g, b.g), mix(a.b, b.b)};
}

// `s` in stb_easy_font's ASCII: a tab becomes a space, other unprintable characters and UTF-8 sequences '?'.
std::string printable(const std::string& s) {
  std::string out;
  for (unsigned char ch : s) {
    if (ch >= 0x80 && ch < 0xc0) continue;  // UTF-8 continuation byte
    out += ch == '\t' ? ' ' : ch >= 32 && ch < 127 ? char(ch) : '?';
  }
  return out;
}

// An image with a clipping rectangle and anti-aliased drawing; coordinates are continuous pixels.
struct Canvas {
  Image image;
  int cx0 = 0, cy0 = 0, cx1 = 0, cy1 = 0;  // pixels drawn: cx0 <= x < cx1, cy0 <= y < cy1

  void clip(int x0, int y0, int x1, int y1) {
    cx0 = std::max(x0, 0), cy0 = std::max(y0, 0), cx1 = std::min(x1, image.width), cy1 = std::min(y1, image.height);
  }
  void plot(int x, int y, Color c, double alpha) {
    if (x >= cx0 && x < cx1 && y >= cy0 && y < cy1) image.blend(x, y, c, alpha);
  }

  // A rectangle; pixels it covers partly are blended by the fraction covered.
  void rect(double x0, double y0, double x1, double y1, Color c, double alpha = 1) {
    for (int y = std::max(int(std::floor(y0)), cy0); y < std::min(y1, double(cy1)); ++y) {
      for (int x = std::max(int(std::floor(x0)), cx0); x < std::min(x1, double(cx1)); ++x) {
        const double cover =
            (std::min(x1, x + 1.0) - std::max(x0, double(x))) * (std::min(y1, y + 1.0) - std::max(y0, double(y)));
        plot(x, y, c, alpha * cover);
      }
    }
  }

  void disc(double x, double y, double r, Color c) {
    for (int py = int(std::floor(y - r - 1)); py <= int(std::ceil(y + r + 1)); ++py) {
      for (int px = int(std::floor(x - r - 1)); px <= int(std::ceil(x + r + 1)); ++px) {
        plot(px, py, c, r + 0.5 - std::hypot(px + 0.5 - x, py + 0.5 - y));
      }
    }
  }

  // A segment of the given width with round ends; each pixel is covered by how far its centre lies inside.
  void line(double x0, double y0, double x1, double y1, double width, Color c) {
    const double r = width / 2;
    if (!clip_segment(x0, y0, x1, y1, r + 2)) return;
    const double dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy;
    const bool steep = std::abs(dy) > std::abs(dx);
    const double a0 = steep ? y0 : x0, da = steep ? dy : dx, b0 = steep ? x0 : y0, db = steep ? dx : dy;
    // Walk along the major axis and cover the pixels across it within reach of the segment.
    for (int a = int(std::floor(std::min(a0, a0 + da) - r)); a <= int(std::ceil(std::max(a0, a0 + da) + r)); ++a) {
      const double t = da == 0 ? 0 : std::clamp((a + 0.5 - a0) / da, 0.0, 1.0);
      const double b_mid = b0 + t * db;
      for (int b = int(std::floor(b_mid - 1.5 * r - 1)); b <= int(std::ceil(b_mid + 1.5 * r + 1)); ++b) {
        const double px = (steep ? b : a) + 0.5, py = (steep ? a : b) + 0.5;
        const double u = len2 == 0 ? 0 : std::clamp(((px - x0) * dx + (py - y0) * dy) / len2, 0.0, 1.0);
        plot(steep ? b : a, steep ? a : b, c, r + 0.5 - std::hypot(px - x0 - u * dx, py - y0 - u * dy));
      }
    }
  }

  // Liang-Barsky: cuts the segment to the clip rectangle grown by `margin`; false if nothing is left.
  bool clip_segment(double& x0, double& y0, double& x1, double& y1, double margin) const {
    const double dx = x1 - x0, dy = y1 - y0;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {x0 - (cx0 - margin), cx1 + margin - x0, y0 - (cy0 - margin), cy1 + margin - y0};
    double t0 = 0, t1 = 1;
    for (int i = 0; i < 4; ++i) {
      if (p[i] == 0) {
        if (q[i] < 0) return false;
      } else if (p[i] < 0) {
        t0 = std::max(t0, q[i] / p[i]);
      } else {
        t1 = std::min(t1, q[i] / p[i]);
      }
    }
    if (t0 > t1) return false;
    x1 = x0 + t1 * dx, y1 = y0 + t1 * dy, x0 += t0 * dx, y0 += t0 * dy;
    return true;
  }

  // Text in stb_easy_font's glyphs scaled by `scale`. (ax, ay) in [0, 1] place the anchor (x, y) on the
  // text box (0: left/top, 1: right/bottom edge); vertical text reads upwards.
  void text(const std::string& str, double x, double y, double scale, Color c, double ax = 0, double ay = 0,
            bool vertical = false) {
    std::string s = printable(str);
    if (s.empty()) return;
    std::vector<char> quads(s.size() * 1024);
    const int n = stb_easy_font_print(0, 0, s.data(), nullptr, quads.data(), int(quads.size()));
    const double w = text_width(str, scale), h = kCapHeight * scale;
    const double ox = vertical ? x - ay * h : x - ax * w, oy = vertical ? y + ax * w : y - ay * h;
    for (int q = 0; q < n; ++q) {
      float v[6];  // corners 0 and 2 of the quad: x, y, z of each
      std::memcpy(v, &quads[q * 64], 12);
      std::memcpy(v + 3, &quads[q * 64 + 32], 12);
      if (vertical) {
        rect(ox + v[1] * scale, oy - v[3] * scale, ox + v[4] * scale, oy - v[0] * scale, c);
      } else {
        rect(ox + v[0] * scale, oy + v[1] * scale, ox + v[3] * scale, oy + v[4] * scale, c);
      }
    }
  }
  static double text_width(const std::string& str, double scale) {
    std::string s = printable(str);
    return s.empty() ? 0 : (stb_easy_font_width(s.data()) - 1) * scale;  // less the trailing gap
  }
};

struct Tick {
  double pos;  // in axis space
  std::string label;
};

// "1e+06" -> "1e6", "2e-05" -> "2e-5".
std::string tidy_exponent(std::string s) {
  const auto e = s.find('e');
  if (e == std::string::npos) return s;
  std::string exponent = s.substr(e + 1);
  const bool negative = exponent[0] == '-';
  exponent.erase(0, exponent.find_first_not_of("+-0"));
  return s.substr(0, e + 1) + (negative ? "-" : "") + (exponent.empty() ? "0" : exponent);
}

// A value on an axis whose labels are `step` apart and at most `magnitude` in size.
std::string format_number(double v, double step, double magnitude) {
  char buf[48];
  if (magnitude >= 1e-4 && magnitude < 1e6) {
    std::snprintf(buf, sizeof buf, "%.*f", std::max(0, int(-std::floor(std::log10(step) + 1e-9))), v);
  } else {
    const int digits = int(std::floor(std::log10(magnitude)) - std::floor(std::log10(step) + 1e-9)) + 1;
    std::snprintf(buf, sizeof buf, "%.*g", std::clamp(digits, 1, 15), v);
  }
  return tidy_exponent(buf);
}

// Ticks 1, 2 or 5 times a power of ten apart, at most about `count` of them over [lo, hi]; on a log axis
// (positions log10 of the values) at the values in [10^lo, 10^hi].
std::vector<Tick> linear_ticks(double lo, double hi, int count, bool log_axis = false) {
  const double vlo = log_axis ? std::pow(10.0, lo) : lo, vhi = log_axis ? std::pow(10.0, hi) : hi;
  const double raw = (vhi - vlo) / count, p = std::pow(10.0, std::floor(std::log10(raw))), m = raw / p;
  const double step = (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
  if (!std::isfinite(step) || step <= 0) return {};
  const double magnitude = std::max(std::abs(vlo), std::abs(vhi));
  std::vector<Tick> ticks;
  for (double k = std::ceil(vlo / step - 1e-9); k * step <= vhi + 1e-9 * step && ticks.size() < 50; ++k) {
    const double v = std::abs(k) < 0.5 ? 0.0 : k * step;  // no "-0"
    if (!log_axis || v > 0) ticks.push_back({log_axis ? std::log10(v) : v, format_number(v, step, magnitude)});
  }
  return ticks;
}

// Decades of a log axis over [lo, hi] (in log10 of the values); 2 and 5 times them too when few decades show.
std::vector<Tick> log_ticks(double lo, double hi, int count) {
  const int first = int(std::ceil(lo - 1e-9)), last = int(std::floor(hi + 1e-9));
  const int stride = std::max(1, (last - first + count) / count);
  std::vector<Tick> ticks;
  auto label = [](double v, int decade) {
    char buf[32];
    std::snprintf(buf, sizeof buf, decade >= -3 && decade <= 4 ? "%g" : "%.0e", v);
    return tidy_exponent(buf);
  };
  for (int d = int(std::floor(lo)); d <= int(std::ceil(hi)); ++d) {
    for (int mantissa : {1, 2, 5}) {
      const double pos = d + std::log10(mantissa);
      if (pos < lo - 1e-9 || pos > hi + 1e-9) continue;
      if (mantissa == 1 ? d % stride == 0 : last - first < 2)
        ticks.push_back({pos, label(mantissa * std::pow(10.0, d), d)});
    }
  }
  return ticks.size() >= 2 ? ticks : linear_ticks(lo, hi, count, true);
}

// A coordinate axis: `lo` and `hi` in axis space (log10 of the values on a log axis) at pixels p0 and p1.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double p0 = 0, p1 = 1;

  double space(double v) const { return !log ? v : v > 0 ? std::log10(v) : kNaN; }
  double value(double s) const { return log ? std::pow(10.0, s) : s; }
  double pixel_of_space(double s) const { return p0 + (s - lo) / (hi - lo) * (p1 - p0); }
  double pixel(double v) const { return std::clamp(pixel_of_space(space(v)), -1e9, 1e9); }  // NaN stays NaN
  double value_at(double pixel) const { return value(lo + (pixel - p0) / (p1 - p0) * (hi - lo)); }
  std::vector<Tick> ticks(int count) const { return log ? log_ticks(lo, hi, count) : linear_ticks(lo, hi, count); }
};

// Grows [lo, hi] (from finite data; empty when lo > hi) into a range an axis can show with a margin.
void pad_range(double& lo, double& hi, bool log) {
  if (lo > hi) lo = 0, hi = 1;
  const double d = hi > lo ? 0.05 * (hi - lo) : log ? 0.5 : std::max(0.5, 0.1 * std::abs(lo));
  lo -= d, hi += d;
}

}  // namespace

Color default_color(int i) {
  return kPalette[(i % 10 + 10) % 10];
}

struct Plot::Layout {
  double s;                      // text and line scale
  int left, top, right, bottom;  // the plot area: left <= column < right, top <= row < bottom
  Axis x, y;
  std::vector<Tick> x_ticks, y_ticks;
  // With a field: the range of its colour scale, the offset added before log10, and the colour-bar ticks.
  double f_lo = 0, f_hi = 1, f_shift = 0;
  std::vector<Tick> bar_ticks;

  // A finite field value as a position 0..1 on the colour scale.
  double field_scale(double v, bool log_scale) const {
    const double u = !log_scale ? v : v + f_shift > 0 ? std::log10(v + f_shift) : f_lo;
    return f_hi > f_lo ? std::clamp((u - f_lo) / (f_hi - f_lo), 0.0, 1.0) : 0.5;
  }
};

Plot::Plot(int width, int height) : width_(width), height_(height) {
  if (width < 64 || height < 64 || width > 8192 || height > 8192) {
    throw InvalidArgument("Plot: width and height must be in [64, 8192], got " + std::to_string(width) + "x" +
                          std::to_string(height));
  }
}

void Plot::set_title(std::string title) {
  title_ = std::move(title);
}
void Plot::set_labels(std::string x_label, std::string y_label) {
  x_label_ = std::move(x_label);
  y_label_ = std::move(y_label);
}
void Plot::set_log_y(bool log_y) {
  log_y_ = log_y;
}

void Plot::add(Kind kind, const std::vector<double>& x, const std::vector<double>& y, std::optional<Color> color,
               std::string label) {
  if (x.size() != y.size()) {
    throw InvalidArgument("Plot: x and y differ in length (" + std::to_string(x.size()) + " and " +
                          std::to_string(y.size()) + ")");
  }
  series_.push_back({kind, x, y, color ? *color : default_color(next_color_++), std::move(label)});
}
void Plot::add_line(const std::vector<double>& x, const std::vector<double>& y, std::string label) {
  add(Kind::line, x, y, std::nullopt, std::move(label));
}
void Plot::add_line(const std::vector<double>& x, const std::vector<double>& y, Color color, std::string label) {
  add(Kind::line, x, y, color, std::move(label));
}
void Plot::add_points(const std::vector<double>& x, const std::vector<double>& y, std::string label) {
  add(Kind::points, x, y, std::nullopt, std::move(label));
}
void Plot::add_points(const std::vector<double>& x, const std::vector<double>& y, Color color, std::string label) {
  add(Kind::points, x, y, color, std::move(label));
}
void Plot::add_marker(double x, double y, Color color, std::string label) {
  add(Kind::marker, {x}, {y}, color, std::move(label));
}

void Plot::set_field(std::function<double(double, double)> f, double xmin, double xmax, double ymin, double ymax,
                     bool log_scale) {
  if (!f) throw InvalidArgument("Plot::set_field: empty function");
  if (!(xmin < xmax && ymin < ymax) || !std::isfinite(xmax - xmin) || !std::isfinite(ymax - ymin)) {
    throw InvalidArgument("Plot::set_field: need finite xmin < xmax and ymin < ymax");
  }
  field_ = Field{std::move(f), xmin, xmax, ymin, ymax, log_scale};
}

Plot::Layout Plot::layout() const {
  Layout L;
  L.s = std::clamp(std::min(width_, height_) / 400.0, 1.0, 8.0);
  const double s = L.s, text_h = kCapHeight * s;
  L.x.log = false, L.y.log = log_y_;
  if (field_) {
    if (log_y_ && !(field_->ymin > 0)) throw InvalidArgument("Plot: a log-y axis needs a field with ymin > 0");
    L.x.lo = field_->xmin, L.x.hi = field_->xmax, L.y.lo = L.y.space(field_->ymin), L.y.hi = L.y.space(field_->ymax);
  } else {
    const double inf = std::numeric_limits<double>::infinity();
    double xlo = inf, xhi = -inf, ylo = inf, yhi = -inf;
    for (const Series& ser : series_) {
      for (std::size_t i = 0; i < ser.x.size(); ++i) {
        const double sy = L.y.space(ser.y[i]);
        if (!std::isfinite(ser.x[i]) || !std::isfinite(sy)) continue;
        xlo = std::min(xlo, ser.x[i]), xhi = std::max(xhi, ser.x[i]), ylo = std::min(ylo, sy), yhi = std::max(yhi, sy);
      }
    }
    pad_range(xlo, xhi, false);
    pad_range(ylo, yhi, log_y_);
    L.x.lo = xlo, L.x.hi = xhi, L.y.lo = ylo, L.y.hi = yhi;
  }
  // Vertical layout first: the y ticks depend on the plot height, the left margin on their labels.
  // Margins leave at least half of each dimension to the plot area (text may then overlap on tiny images).
  auto squeeze = [](int& before, int& after, int size) {
    const int excess = before + after - size / 2;
    if (excess <= 0) return;
    const int cut = int(std::lround(double(excess) * before / (before + after)));
    before -= cut, after -= excess - cut;
  };
  int top = int(title_.empty() ? 12 * s : 22 * s + kCapHeight * 1.5 * s);
  int bottom = int(22 * s + text_h + (x_label_.empty() ? 0 : 10 * s + text_h));
  squeeze(top, bottom, height_);
  L.top = top, L.bottom = height_ - bottom;
  const int rows = L.bottom - L.top;
  L.y_ticks = L.y.ticks(std::clamp(int(rows / (45 * s)), 2, 10));
  double label_w = 0;
  for (const Tick& t : L.y_ticks) label_w = std::max(label_w, Canvas::text_width(t.label, s));
  int left = int(14 * s + label_w + (y_label_.empty() ? 0 : 10 * s + text_h));
  int bar_w = 0;
  if (field_) {
    // The colour scale comes from a coarse grid so that the layout need not evaluate every pixel.
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    const int n = 129;
    Axis y = L.y;
    y.p0 = 0, y.p1 = n - 1;
    for (int i = 0; i < n; ++i) {
      for (int j = 0; j < n; ++j) {
        const double v = field_->f(field_->xmin + (field_->xmax - field_->xmin) * j / (n - 1), y.value_at(i));
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
      }
    }
    if (lo <= hi) {
      L.f_lo = lo, L.f_hi = hi;
      if (field_->log_scale) {
        L.f_shift = L.f_lo > 0 ? 0 : L.f_hi > L.f_lo ? 1e-6 * (L.f_hi - L.f_lo) - L.f_lo : 1 - L.f_lo;
        L.f_hi = std::log10(L.f_hi + L.f_shift);
        L.f_lo = std::max(std::log10(L.f_lo + L.f_shift), L.f_hi - 6);
      }
    }
    const int count = std::clamp(int(rows / (45 * s)), 2, 10);
    L.bar_ticks = L.f_hi > L.f_lo
                      ? (field_->log_scale ? log_ticks(L.f_lo, L.f_hi, count) : linear_ticks(L.f_lo, L.f_hi, count))
                      : std::vector<Tick>{};
    double w = 0;
    for (const Tick& t : L.bar_ticks) w = std::max(w, Canvas::text_width(t.label, s));
    bar_w = int(36 * s + w);
  }
  int right = int(16 * s) + bar_w;
  squeeze(left, right, width_);
  L.left = left, L.right = width_ - right;
  L.x_ticks = L.x.ticks(std::clamp(int((L.right - L.left) / (70 * s)), 2, 10));
  L.x.p0 = L.left, L.x.p1 = L.right, L.y.p0 = L.bottom, L.y.p1 = L.top;
  return L;
}

std::array<double, 2> Plot::to_pixel(double x, double y) const {
  const Layout L = layout();
  const double px = std::isfinite(x) ? L.x.pixel(x) : kNaN, py = std::isfinite(y) ? L.y.pixel(y) : kNaN;
  return {px, py};
}

Image Plot::render() const {
  const Layout L = layout();
  const double s = L.s, text_h = kCapHeight * s;
  Canvas cv{Image(width_, height_, kWhite)};
  cv.clip(L.left, L.top, L.right, L.bottom);
  const int cols = L.right - L.left, rows = L.bottom - L.top;

  if (field_) {
    // Colour every pixel of the plot area, then darken or lighten it where the band of 12 levels changes
    // towards the next pixel to the right or below (two rows of values at a time).
    auto eval_row = [&](int r, std::vector<double>& out) {
      const double fy = L.y.value_at(L.top + r + 0.5);
      for (int c = 0; c < cols; ++c) {
        const double v = field_->f(L.x.value_at(L.left + c + 0.5), fy);
        out[c] = std::isfinite(v) ? L.field_scale(v, field_->log_scale) : kNaN;
      }
    };
    auto band = [](double u) { return std::isnan(u) ? -1 : std::min(int(u * 12), 11); };
    std::vector<double> row(cols), below(cols);
    eval_row(0, row);
    for (int r = 0; r < rows; ++r) {
      if (r + 1 < rows) eval_row(r + 1, below);
      for (int c = 0; c < cols; ++c) {
        const double u = row[c];
        cv.image.set(L.left + c, L.top + r, std::isnan(u) ? kGrey : colormap(u));
        const int b = band(u);
        if ((c + 1 < cols && band(row[c + 1]) != b) || (r + 1 < rows && band(below[c]) != b)) {
          cv.image.blend(L.left + c, L.top + r, u > 0.6 ? kInk : kWhite, 0.45);
        }
      }
      row.swap(below);
    }
  } else {
    for (const Tick& tk : L.x_ticks)
      cv.line(L.x.pixel_of_space(tk.pos), L.top, L.x.pixel_of_space(tk.pos), L.bottom, 1, kGrid);
    for (const Tick& tk : L.y_ticks)
      cv.line(L.left, L.y.pixel_of_space(tk.pos), L.right, L.y.pixel_of_space(tk.pos), 1, kGrid);
  }

  // The data, clipped to the plot area; a line breaks at points that cannot be shown.
  const double line_w = 1.5 * s, dot_r = 2.2 * s, marker_r = 4.5 * s;
  auto marker = [&](double x, double y, Color c) {
    cv.disc(x, y, marker_r + 1.2 * s, kInk);
    cv.disc(x, y, marker_r, c);
  };
  for (const Series& ser : series_) {
    double px_prev = kNaN, py_prev = kNaN;
    for (std::size_t i = 0; i < ser.x.size(); ++i) {
      const double px = std::isfinite(ser.x[i]) ? L.x.pixel(ser.x[i]) : kNaN;
      const double py = std::isfinite(ser.y[i]) ? L.y.pixel(ser.y[i]) : kNaN;
      const bool ok = !std::isnan(px) && !std::isnan(py);
      if (ser.kind == Kind::line && ok && !std::isnan(px_prev)) cv.line(px_prev, py_prev, px, py, line_w, ser.color);
      if (ser.kind == Kind::line && ok && ser.x.size() == 1) cv.disc(px, py, line_w, ser.color);
      if (ser.kind == Kind::points && ok) cv.disc(px, py, dot_r, ser.color);
      if (ser.kind == Kind::marker && ok) marker(px, py, ser.color);
      px_prev = ok ? px : kNaN, py_prev = ok ? py : kNaN;
    }
  }

  // Frame, ticks and tick labels.
  cv.clip(0, 0, width_, height_);
  const double frame = std::max(1.0, std::round(0.7 * s)), tick = 5 * s;
  cv.rect(L.left - frame, L.top - frame, L.right + frame, L.top, kInk);
  cv.rect(L.left - frame, L.bottom, L.right + frame, L.bottom + frame, kInk);
  cv.rect(L.left - frame, L.top, L.left, L.bottom, kInk);
  cv.rect(L.right, L.top, L.right + frame, L.bottom, kInk);
  for (const Tick& tk : L.x_ticks) {
    const double px = L.x.pixel_of_space(tk.pos);
    cv.rect(px - frame / 2, L.bottom + frame, px + frame / 2, L.bottom + frame + tick, kInk);
    cv.text(tk.label, px, L.bottom + tick + 6 * s, s, kInk, 0.5, 0);
  }
  for (const Tick& tk : L.y_ticks) {
    const double py = L.y.pixel_of_space(tk.pos);
    cv.rect(L.left - frame - tick, py - frame / 2, L.left - frame, py + frame / 2, kInk);
    cv.text(tk.label, L.left - tick - 5 * s, py, s, kInk, 1, 0.5);
  }

  // Title and axis labels.
  cv.text(title_, (L.left + L.right) / 2.0, 12 * s, 1.5 * s, kInk, 0.5, 0);
  cv.text(x_label_, (L.left + L.right) / 2.0, L.bottom + tick + 16 * s + text_h, s, kInk, 0.5, 0);
  cv.text(y_label_, 8 * s, (L.top + L.bottom) / 2.0, s, kInk, 0.5, 0, true);

  // Colour bar to the right of the plot area.
  if (field_) {
    const double x0 = L.right + 12 * s, x1 = x0 + 12 * s;
    for (int r = L.top; r < L.bottom; ++r) cv.rect(x0, r, x1, r + 1, colormap((L.bottom - r - 0.5) / rows));
    cv.rect(x0 - 1, L.top - 1, x1 + 1, L.top, kInk), cv.rect(x0 - 1, L.bottom, x1 + 1, L.bottom + 1, kInk);
    cv.rect(x0 - 1, L.top, x0, L.bottom, kInk), cv.rect(x1, L.top, x1 + 1, L.bottom, kInk);
    for (const Tick& tk : L.bar_ticks) {
      const double py = L.bottom - (tk.pos - L.f_lo) / (L.f_hi - L.f_lo) * rows;
      cv.rect(x1, py - frame / 2, x1 + 4 * s, py + frame / 2, kInk);
      cv.text(tk.label, x1 + 7 * s, py, s, kInk, 0, 0.5);
    }
  }

  // Legend in the top right corner of the plot area.
  std::vector<const Series*> entries;
  double label_w = 0;
  for (const Series& ser : series_) {
    if (ser.label.empty()) continue;
    entries.push_back(&ser);
    label_w = std::max(label_w, Canvas::text_width(ser.label, s));
  }
  if (!entries.empty()) {
    const double row_h = 14 * s, swatch = 22 * s, pad = 7 * s;
    const double x1 = L.right - 8 * s, x0 = x1 - (pad + swatch + 6 * s + label_w + pad), y0 = L.top + 8 * s;
    const double y1 = y0 + 2 * pad + row_h * entries.size() - (row_h - text_h);
    cv.rect(x0, y0, x1, y1, kWhite, 0.85);
    cv.rect(x0, y0, x1, y0 + 1, kGrey), cv.rect(x0, y1 - 1, x1, y1, kGrey);
    cv.rect(x0, y0, x0 + 1, y1, kGrey), cv.rect(x1 - 1, y0, x1, y1, kGrey);
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Series& ser = *entries[i];
      const double cy = y0 + pad + row_h * i + text_h / 2, sx = x0 + pad;
      const bool light = ser.color.r + ser.color.g + ser.color.b > 600;  // would vanish on white: outline it
      if (ser.kind == Kind::line && light) cv.line(sx, cy, sx + swatch, cy, line_w + 2, kGrey);
      if (ser.kind == Kind::line) cv.line(sx, cy, sx + swatch, cy, line_w, ser.color);
      if (ser.kind == Kind::points) cv.disc(sx + swatch / 2, cy, dot_r, ser.color);
      if (ser.kind == Kind::marker) marker(sx + swatch / 2, cy, ser.color);
      cv.text(ser.label, sx + swatch + 6 * s, cy, s, kInk, 0, 0.5);
    }
  }
  return std::move(cv.image);
}

void Plot::save(const std::string& path) const {
  write_png(path, render());
}

}  // namespace odyn::io
