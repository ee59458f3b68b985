#include "odyn/io/npy.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <limits>

#include "odyn/core/error.hpp"
#include "odyn/io/atomic_file.hpp"

namespace odyn::io {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw IoError("'" + path + "': not a readable .npy file: " + what);
}

// A parser for the Python dict literal of a .npy header, e.g.
//   {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& path) : s_(text), path_(path) {}

  NpyHeader parse() {
    NpyHeader h;
    bool have_descr = false, have_order = false, have_shape = false;
    expect('{');
    while (true) {
      skip();
      if (peek() == '}') break;
      const std::string key = string_literal();
      expect(':');
      if (key == "descr") {
        descr(string_literal(), h);
        have_descr = true;
      } else if (key == "fortran_order") {
        h.fortran_order = boolean();
        have_order = true;
      } else if (key == "shape") {
        h.shape = tuple();
        have_shape = true;
      } else {
        fail(path_, "unexpected header key '" + key + "'");
      }
      skip();
      if (peek() == ',')
        ++pos_;
      else if (peek() != '}')
        fail(path_, "malformed header");
    }
    if (!have_descr || !have_order || !have_shape) {
      fail(path_, "header lacks one of 'descr', 'fortran_order', 'shape'");
    }
    return h;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  void expect(char c) {
    skip();
    if (peek() != c) fail(path_, std::string("malformed header: expected '") + c + "'");
    ++pos_;
  }
  std::string string_literal() {
    skip();
    const char q = peek();
    if (q != '\'' && q != '"') fail(path_, "malformed header: expected a string");
    const std::size_t end = s_.find(q, pos_ + 1);
    if (end == std::string::npos) fail(path_, "malformed header: unterminated string");
    std::string out = s_.substr(pos_ + 1, end - pos_ - 1);
    pos_ = end + 1;
    return out;
  }
  bool boolean() {
    skip();
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    fail(path_, "malformed header: fortran_order must be True or False");
  }
  std::vector<std::int64_t> tuple() {
    expect('(');
    std::vector<std::int64_t> dims;
    while (true) {
      skip();
      if (peek() == ')') {
        ++pos_;
        return dims;
      }
      if (!std::isdigit(static_cast<unsigned char>(peek()))) fail(path_, "malformed header: bad shape");
      std::int64_t v = 0;
      while (std::isdigit(static_cast<unsigned char>(peek()))) {
        if (v > (std::numeric_limits<std::int64_t>::max() - 9) / 10) fail(path_, "shape too large");
        v = v * 10 + (s_[pos_++] - '0');
      }
      dims.push_back(v);
      skip();
      if (peek() == ',')
        ++pos_;
      else if (peek() != ')')
        fail(path_, "malformed header: bad shape");
    }
  }
  void descr(const std::string& d, NpyHeader& h) {
    if (d.size() == 3 && (d[0] == '<' || d[0] == '>' || d[0] == '=') && d[1] == 'f' && (d[2] == '4' || d[2] == '8')) {
      h.big_endian = d[0] == '>';
      h.item_size = d[2] - '0';
      return;
    }
    fail(path_, "unsupported dtype '" + d + "' (odyn reads float32 '<f4' and float64 '<f8')");
  }

  const std::string& s_;
  const std::string& path_;
  std::size_t pos_ = 0;
};

template <class T>
T load_le(const unsigned char* p, int n) {
  T v = 0;
  for (int i = n - 1; i >= 0; --i) v = static_cast<T>((v << 8) | p[i]);
  return v;
}

NpyHeader read_header(std::istream& in, const std::string& path, std::int64_t file_size) {
  unsigned char pre[kMagicLen + 2];
  if (!in.read(reinterpret_cast<char*>(pre), sizeof pre)) fail(path, "truncated before the header");
  if (std::memcmp(pre, kMagic, kMagicLen) != 0) fail(path, "wrong magic string");
  const int major = pre[kMagicLen];
  if (major < 1 || major > 3) fail(path, "unsupported format version " + std::to_string(major));
  const int len_bytes = major == 1 ? 2 : 4;
  unsigned char len_buf[4];
  if (!in.read(reinterpret_cast<char*>(len_buf), len_bytes)) fail(path, "truncated before the header");
  const std::int64_t header_len = load_le<std::int64_t>(len_buf, len_bytes);
  const std::int64_t prefix = static_cast<std::int64_t>(sizeof pre) + len_bytes;
  if (prefix + header_len > file_size) fail(path, "truncated header");
  std::string text(static_cast<std::size_t>(header_len), '\0');
  if (!in.read(text.data(), header_len)) fail(path, "truncated header");
  NpyHeader h = HeaderParser(text, path).parse();
  h.data_offset = prefix + header_len;

  std::int64_t count = 1;
  for (std::int64_t d : h.shape) {
    if (d != 0 && count > std::numeric_limits<std::int64_t>::max() / h.item_size / d) fail(path, "shape too large");
    count *= d;
  }
  const std::int64_t need = count * h.item_size;
  const std::int64_t have = file_size - h.data_offset;
  if (have < need) {
    fail(path, "truncated: the header announces " + std::to_string(need) + " bytes of data, the file holds " +
                   std::to_string(have));
  }
  if (have > need) fail(path, std::to_string(have - need) + " unexpected bytes after the data");
  return h;
}

std::int64_t size_of(std::ifstream& in) {
  in.seekg(0, std::ios::end);
  const std::int64_t n = in.tellg();
  in.seekg(0, std::ios::beg);
  return n;
}

template <class Scalar>
void write_impl(const std::string& path, const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic>& m) {
  static_assert(sizeof(Scalar) == 4 || sizeof(Scalar) == 8);
  std::string dict = std::string("{'descr': '<f") + (sizeof(Scalar) == 4 ? "4" : "8") +
                     "', 'fortran_order': False, 'shape': (" + std::to_string(m.rows()) + ", " +
                     std::to_string(m.cols()) + "), }";
  // Pad with spaces so that magic + version + length + header is a multiple of 64 bytes.
  const std::size_t unpadded = kMagicLen + 2 + 2 + dict.size() + 1;
  dict.append((64 - unpadded % 64) % 64, ' ');
  dict.push_back('\n');
  if (dict.size() > 65535) throw IoError("write_npy: header too long");
  const Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> rows = m;
  write_file_atomically(
      path,
      [&](std::ostream& out) {
        out.write(kMagic, kMagicLen);
        const char version[2] = {1, 0};
        out.write(version, 2);
        const char len[2] = {static_cast<char>(dict.size() & 0xff), static_cast<char>(dict.size() >> 8)};
        out.write(len, 2);
        out << dict;
        out.write(reinterpret_cast<const char*>(rows.data()),
                  static_cast<std::streamsize>(rows.size() * sizeof(Scalar)));
      },
      /*binary=*/true);
}

template <class Raw, class Scalar>
void convert(const std::vector<char>& bytes, bool swap, Scalar* out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char b[sizeof(Raw)];
    std::memcpy(b, bytes.data() + i * sizeof(Raw), sizeof(Raw));
    if (swap) std::reverse(b, b + sizeof(Raw));
    Raw v;
    std::memcpy(&v, b, sizeof(Raw));
    out[i] = static_cast<Scalar>(v);
  }
}

}  // namespace

NpyHeader read_npy_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open '" + path + "'");
  return read_header(in, path, size_of(in));
}

template <class Scalar>
Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic> read_npy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open '" + path + "'");
  const NpyHeader h = read_header(in, path, size_of(in));
  if (h.shape.size() > 2) {
    fail(path, "expected at most 2 dimensions, found " + std::to_string(h.shape.size()));
  }
  const Eigen::Index rows = h.shape.empty() ? 1 : h.shape[0];
  const Eigen::Index cols = h.shape.size() == 2 ? h.shape[1] : 1;
  const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  in.seekg(h.data_offset);
  using RowMajor = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  using ColMajor = Eigen::Matrix<Scalar, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
  const auto read = [&](char* dst, std::size_t bytes) {
    if (!in.read(dst, static_cast<std::streamsize>(bytes))) fail(path, "read error in the data");
  };
  // Fast path: stored type is Scalar in host (little-endian) byte order; read straight into place.
  if (h.item_size == sizeof(Scalar) && !h.big_endian) {
    if (h.fortran_order) {
      ColMajor m(rows, cols);
      read(reinterpret_cast<char*>(m.data()), n * sizeof(Scalar));
      return m;
    }
    RowMajor m(rows, cols);
    read(reinterpret_cast<char*>(m.data()), n * sizeof(Scalar));
    return m;
  }
  std::vector<char> bytes(n * h.item_size);
  read(bytes.data(), bytes.size());
  std::vector<Scalar> flat(n);
  if (h.item_size == 8)
    convert<double>(bytes, h.big_endian, flat.data(), n);
  else
    convert<float>(bytes, h.big_endian, flat.data(), n);
  if (h.fortran_order) return Eigen::Map<const ColMajor>(flat.data(), rows, cols);
  return Eigen::Map<const RowMajor>(flat.data(), rows, cols);
}

template Eigen::MatrixXd read_npy<double>(const std::string&);
template Eigen::MatrixXf read_npy<float>(const std::string&);

void write_npy(const std::string& path, const Eigen::MatrixXd& m) {
  write_impl(path, m);
}
void write_npy(const std::string& path, const Eigen::MatrixXf& m) {
  write_impl(path, m);
}

}  // namespace odyn::io
