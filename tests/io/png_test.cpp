#include "odyn/io/png.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "../test_util.hpp"
#include "odyn/core/error.hpp"
#include "odyn/io/plot.hpp"

using odyn::InvalidArgument;
using odyn::IoError;
using odyn::io::Color;
using odyn::io::Image;
using odyn::io::Plot;
using odyn::io::read_png;
using odyn::io::write_png;
using odyn::test::scratch;

namespace {

constexpr Color kRed{220, 20, 20};

bool is_background(Color c) {
  return c == Color{255, 255, 255};
}

// Whether some pixel within `radius` of (x, y) is close to `c`.
bool has_color_near(const Image& img, double x, double y, Color c, int radius = 3) {
  for (int py = int(y) - radius; py <= int(y) + radius; ++py) {
    for (int px = int(x) - radius; px <= int(x) + radius; ++px) {
      if (!img.contains(px, py)) continue;
      const Color p = img.get(px, py);
      if (std::abs(p.r - c.r) + std::abs(p.g - c.g) + std::abs(p.b - c.b) < 30) return true;
    }
  }
  return false;
}

long count_non_background(const Image& img) {
  long n = 0;
  for (int y = 0; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) n += !is_background(img.get(x, y));
  }
  return n;
}

}  // namespace

TEST(Png, RoundTripKeepsEveryPixel) {
  Image img(37, 23);
  std::mt19937 rng(7);
  for (auto& byte : img.rgb) byte = std::uint8_t(rng());
  img.set(0, 0, {1, 2, 3});
  const std::string path = scratch("image.png");
  write_png(path, img);
  const Image back = read_png(path);
  EXPECT_EQ(back.width, 37);
  EXPECT_EQ(back.height, 23);
  EXPECT_EQ(back.rgb, img.rgb);
  EXPECT_EQ(back.get(0, 0), (Color{1, 2, 3}));
}

TEST(Png, PixelAccess) {
  Image img(4, 3, {10, 20, 30});
  EXPECT_EQ(img.rgb.size(), 36u);
  EXPECT_EQ(img.get(3, 2), (Color{10, 20, 30}));
  img.set(-1, 0, kRed);  // ignored
  img.blend(1, 1, {110, 20, 30}, 0.5);
  EXPECT_EQ(img.get(1, 1), (Color{60, 20, 30}));
  EXPECT_THROW(img.get(4, 0), InvalidArgument);
  EXPECT_THROW(Image(-1, 2), InvalidArgument);
}

TEST(Png, Errors) {
  const std::string missing_dir = scratch("no_such_dir") + "/image.png";
  const std::string message = odyn::test::io_error_of([&] { write_png(missing_dir, Image(2, 2)); });
  EXPECT_NE(message.find(missing_dir), std::string::npos) << message;
  EXPECT_THROW(Plot().save(missing_dir), IoError);
  EXPECT_THROW(write_png(scratch("empty.png"), Image()), InvalidArgument);
  EXPECT_THROW(read_png(scratch("absent.png")), IoError);
  const std::string not_png = odyn::test::write_file(scratch("not.png"), "hello");
  EXPECT_NE(odyn::test::io_error_of([&] { read_png(not_png); }).find(not_png), std::string::npos);
}

TEST(Plot, LineIsDrawnWhereItsPointsMap) {
  Plot plot(400, 300);
  plot.set_title("title");
  plot.set_labels("x", "y");
  plot.add_line({0, 1, 2, 3}, {0, 1, 4, 9}, kRed, "squares");
  const Image img = plot.render();
  ASSERT_EQ(img.width, 400);
  ASSERT_EQ(img.height, 300);
  const auto [px, py] = plot.to_pixel(2, 4);
  ASSERT_TRUE(img.contains(int(px), int(py)));
  EXPECT_TRUE(has_color_near(img, px, py, kRed));
  const auto [qx, qy] = plot.to_pixel(3, 0);  // far from the curve
  EXPECT_FALSE(has_color_near(img, qx, qy, kRed, 8));
  const auto [ox, oy] = plot.to_pixel(0, 0);
  EXPECT_LT(ox, qx);  // x grows to the right, y upwards
  EXPECT_GT(oy, py);
}

TEST(Plot, SaveWritesRenderedImage) {
  Plot plot(200, 150);
  plot.add_points({1, 2, 3}, {3, 1, 2});
  plot.add_marker(2, 2, kRed, "marker");
  const std::string path = scratch("plot.png");
  plot.save(path);
  EXPECT_EQ(read_png(path).rgb, plot.render().rgb);
}

TEST(Plot, NonFiniteAndNonPositiveValuesAreSkipped) {
  Plot plot;
  plot.set_log_y(true);
  plot.add_line({0, 1, 2, 3, 4, 5}, {-1, 0, 1, NAN, 100, INFINITY}, "loss");
  plot.add_points({0, 1}, {-5, 0});
  const Image img = plot.render();
  EXPECT_EQ(img.width, 800);
  EXPECT_EQ(img.height, 600);
  EXPECT_TRUE(std::isnan(plot.to_pixel(0, -1)[1]));

  Plot nothing_to_show;
  nothing_to_show.set_log_y(true);
  nothing_to_show.add_line({1, 2}, {0, -3});
  nothing_to_show.add_line({NAN}, {1});
  EXPECT_GT(count_non_background(nothing_to_show.render()), 1000);  // axes, ticks and labels
  EXPECT_GT(count_non_background(Plot(64, 64).render()), 100);
}

TEST(Plot, FieldColoursLowAndHighValuesDifferently) {
  for (bool log_scale : {false, true}) {
    Plot plot(300, 240);
    plot.set_field([](double x, double y) { return x * x + y * y; }, -1, 1, -1, 1, log_scale);
    const Image img = plot.render();
    const auto [lx, ly] = plot.to_pixel(0.02, 0.02);
    const auto [hx, hy] = plot.to_pixel(0.97, 0.97);
    const Color low = img.get(int(lx), int(ly)), high = img.get(int(hx), int(hy));
    EXPECT_GT(std::abs(low.r - high.r) + std::abs(low.g - high.g) + std::abs(low.b - high.b), 150) << log_scale;
  }
  Plot log_y;
  log_y.set_log_y(true);
  log_y.set_field([](double x, double y) { return x + y; }, 0, 1, 0, 1);
  EXPECT_THROW(log_y.render(), InvalidArgument);
  log_y.set_field([](double x, double y) { return x / y; }, 0, 1, 1e-3, 1, true);
  EXPECT_NO_THROW(log_y.render());
}

TEST(Plot, RejectsBadArguments) {
  EXPECT_THROW(Plot(63, 100), InvalidArgument);
  EXPECT_THROW(Plot(100, 8193), InvalidArgument);
  EXPECT_THROW(Plot(0, 0), InvalidArgument);
  EXPECT_NO_THROW(Plot(64, 8192));
  Plot plot;
  EXPECT_THROW(plot.add_line({1, 2}, {1}), InvalidArgument);
  EXPECT_THROW(plot.add_points({1}, {}), InvalidArgument);
  auto f = [](double x, double y) { return x + y; };
  EXPECT_THROW(plot.set_field(f, 1, 1, 0, 1), InvalidArgument);
  EXPECT_THROW(plot.set_field(f, 0, 1, 2, 1), InvalidArgument);
  EXPECT_THROW(plot.set_field(f, 0, NAN, 0, 1), InvalidArgument);
  EXPECT_THROW(plot.set_field(nullptr, 0, 1, 0, 1), InvalidArgument);
}
