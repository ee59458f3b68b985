// 8-bit RGB images and PNG files (encoded and decoded with stb_image_write / stb_image).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace odyn::io {

struct Color {
  std::uint8_t r = 0, g = 0, b = 0;
  friend bool operator==(Color a, Color b) { return a.r == b.r && a.g == b.g && a.b == b.b; }
  friend bool operator!=(Color a, Color b) { return !(a == b); }
};

// An RGB image: `rgb` holds width * height * 3 bytes, row after row from the top, R G B per pixel.
struct Image {
  int width = 0, height = 0;
  std::vector<std::uint8_t> rgb;

  Image() = default;
  // Throws odyn::InvalidArgument for a negative size.
  Image(int width, int height, Color fill = {255, 255, 255});

  bool contains(int x, int y) const { return x >= 0 && y >= 0 && x < width && y < height; }
  // Throws odyn::InvalidArgument for a pixel outside the image.
  Color get(int x, int y) const;
  // set() and blend() ignore pixels outside the image. blend() mixes in `c` with weight alpha in [0, 1].
  void set(int x, int y, Color c);
  void blend(int x, int y, Color c, double alpha);
};

// Writes `image` as an 8-bit RGB PNG, atomically. Throws odyn::InvalidArgument for an empty image or
// one whose `rgb` has the wrong size, odyn::IoError when the file cannot be written.
void write_png(const std::string& path, const Image& image);

// Reads a PNG file (any bit depth and colour type) as 8-bit RGB. Throws odyn::IoError naming the file
// when it cannot be read or decoded.
Image read_png(const std::string& path);

}  // namespace odyn::io
