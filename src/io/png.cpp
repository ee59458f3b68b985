#include "odyn/io/png.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>

#include "odyn/core/error.hpp"
#include "odyn/io/atomic_file.hpp"

// stb is compiled here only, for PNG and without its stdio functions (we do the file I/O ourselves).
#define STBI_WRITE_NO_STDIO
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#define STBI_ONLY_PNG
#define STBI_NO_STDIO
#define STBI_NO_LINEAR
#define STBI_NO_HDR
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#include <stb/stb_image.h>

namespace odyn::io {

Image::Image(int width, int height, Color fill) : width(width), height(height) {
  if (width < 0 || height < 0) {
    throw InvalidArgument("Image: negative size " + std::to_string(width) + "x" + std::to_string(height));
  }
  rgb.resize(std::size_t(width) * std::size_t(height) * 3);
  for (std::size_t i = 0; i < rgb.size(); i += 3) {
    rgb[i] = fill.r;
    rgb[i + 1] = fill.g;
    rgb[i + 2] = fill.b;
  }
}

Color Image::get(int x, int y) const {
  if (!contains(x, y)) {
    throw InvalidArgument("Image::get: pixel (" + std::to_string(x) + ", " + std::to_string(y) + ") is outside the " +
                          std::to_string(width) + "x" + std::to_string(height) + " image");
  }
  const std::uint8_t* p = &rgb[(std::size_t(y) * width + x) * 3];
  return {p[0], p[1], p[2]};
}

void Image::set(int x, int y, Color c) {
  if (!contains(x, y)) return;
  std::uint8_t* p = &rgb[(std::size_t(y) * width + x) * 3];
  p[0] = c.r;
  p[1] = c.g;
  p[2] = c.b;
}

void Image::blend(int x, int y, Color c, double alpha) {
  if (!contains(x, y) || !(alpha > 0)) return;
  alpha = std::min(alpha, 1.0);
  std::uint8_t* p = &rgb[(std::size_t(y) * width + x) * 3];
  const std::uint8_t src[3] = {c.r, c.g, c.b};
  for (int k = 0; k < 3; ++k) p[k] = std::uint8_t(p[k] + alpha * (src[k] - p[k]) + 0.5);
}

void write_png(const std::string& path, const Image& image) {
  if (image.width <= 0 || image.height <= 0 || image.rgb.size() != std::size_t(image.width) * image.height * 3) {
    throw InvalidArgument("write_png: '" + path + "': image is empty or its pixel buffer has the wrong size");
  }
  std::string png;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), std::size_t(size));
  };
  if (!stbi_write_png_to_func(append, &png, image.width, image.height, 3, image.rgb.data(), image.width * 3)) {
    throw IoError("cannot encode PNG '" + path + "'");
  }
  write_file_atomically(
      path, [&](std::ostream& out) { out.write(png.data(), std::streamsize(png.size())); }, true);
}

Image read_png(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open '" + path + "': " + std::strerror(errno));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw IoError("error while reading '" + path + "'");
  if (bytes.size() > std::size_t(std::numeric_limits<int>::max())) throw IoError("'" + path + "': file too large");
  int w = 0, h = 0, channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> pixels(
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), int(bytes.size()), &w, &h, &channels, 3),
      stbi_image_free);
  if (!pixels) throw IoError("'" + path + "': not a readable PNG file: " + stbi_failure_reason());
  Image image(w, h);
  std::copy_n(pixels.get(), image.rgb.size(), image.rgb.begin());
  return image;
}

}  // namespace odyn::io
