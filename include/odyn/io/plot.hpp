// Simple figures written as PNG images: lines, points and markers, optionally over a colour map of a
// 2-D scalar field with contour lines, with axes, ticks, a title, axis labels and a legend.
//
//   odyn::io::Plot plot;
//   plot.set_field(loss, -2, 2, -1, 3, /*log_scale=*/true);
//   plot.add_line(xs, ys, {255, 255, 255}, "gradient descent");
//   plot.save("path.png");
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "odyn/io/png.hpp"

namespace odyn::io {

// The i-th colour of the default cycle of 10 distinct colours (i taken modulo 10).
Color default_color(int i);

class Plot {
 public:
  // Throws odyn::InvalidArgument unless 64 <= width, height <= 8192.
  explicit Plot(int width = 800, int height = 600);

  void set_title(std::string title);
  void set_labels(std::string x_label, std::string y_label);
  // A logarithmic y axis; points with y <= 0 are then skipped like non-finite ones.
  void set_log_y(bool log_y);

  // A polyline through the points (x[i], y[i]), broken at points that cannot be shown (non-finite).
  // Without a colour a series takes the next colour of the default cycle; series with a label appear
  // in the legend. Throws odyn::InvalidArgument when x and y differ in length.
  void add_line(const std::vector<double>& x, const std::vector<double>& y, std::string label = {});
  void add_line(const std::vector<double>& x, const std::vector<double>& y, Color color, std::string label = {});
  // Dots at the points (x[i], y[i]).
  void add_points(const std::vector<double>& x, const std::vector<double>& y, std::string label = {});
  void add_points(const std::vector<double>& x, const std::vector<double>& y, Color color, std::string label = {});
  // One larger outlined dot, e.g. for a start point or a minimum.
  void add_marker(double x, double y, Color color, std::string label = {});

  // Fills the plot area with a colour map of f over [xmin, xmax] x [ymin, ymax] (which become the axis
  // ranges) with 12 contour lines, and adds a colour bar. With log_scale the colours follow log10 f over
  // at most 6 decades below the maximum; where f reaches 0 or below, log10(f - min f + 1e-6 (max f - min f)).
  // Non-finite values are shown grey. Throws odyn::InvalidArgument for an empty f or a bad range.
  void set_field(std::function<double(double, double)> f, double xmin, double xmax, double ymin, double ymax,
                 bool log_scale = false);

  // The image position (column, row; continuous, pixel centres at +0.5) where the point (x, y) is drawn
  // in render(); NaN where it cannot be shown.
  std::array<double, 2> to_pixel(double x, double y) const;

  // Throws odyn::InvalidArgument for a log-y axis over a field with ymin <= 0; f's exceptions propagate.
  Image render() const;
  // render() written as a PNG file (atomically); odyn::IoError when it cannot be written.
  void save(const std::string& path) const;

 private:
  enum class Kind { line, points, marker };
  struct Series {
    Kind kind;
    std::vector<double> x, y;
    Color color;
    std::string label;
  };
  struct Field {
    std::function<double(double, double)> f;
    double xmin, xmax, ymin, ymax;
    bool log_scale;
  };
  struct Layout;

  void add(Kind kind, const std::vector<double>& x, const std::vector<double>& y, std::optional<Color> color,
           std::string label);
  Layout layout() const;

  int width_, height_;
  std::string title_, x_label_, y_label_;
  bool log_y_ = false;
  int next_color_ = 0;
  std::vector<Series> series_;
  std::optional<Field> field_;
};

}  // namespace odyn::io
