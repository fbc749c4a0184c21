// metarec: a small versioned binary container of named flat arrays, checksummed, written atomically.
// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <array>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "../data/error.hpp"

/// @namespace metarec::io
/// Saving and loading: a versioned, checksummed binary archive of named flat arrays, and
/// the configuration a saved model must match to be loaded.
namespace metarec::io {

static_assert(std::endian::native == std::endian::little,
              "metarec: io::archive writes little-endian files and reads them by memcpy: big-endian hosts are not supported");

/// CRC-32 (ISO-HDLC, the polynomial of zlib, PNG and gzip; reflected 0xEDB88320), table
/// driven. `crc32("123456789") == 0xCBF43926`. Pass the previous value to continue a sum.
inline std::uint32_t crc32(std::span<const std::byte> bytes, std::uint32_t previous = 0) noexcept {
    static constexpr auto table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t n = 0; n < 256; ++n) {
            std::uint32_t c = n;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }();
    std::uint32_t c = ~previous;
    for (const std::byte b : bytes) c = table[(c ^ std::uint32_t(b)) & 0xFFu] ^ (c >> 8);
    return ~c;
}

/// The element type of a section.
enum class element : std::uint8_t { text = 1, i64 = 2, u64 = 3, f32 = 4, f64 = 5 };

namespace detail {
template <class T>
constexpr element element_of() {
    if constexpr (std::is_same_v<T, char>) return element::text;
    else if constexpr (std::is_same_v<T, std::int64_t>) return element::i64;
    else if constexpr (std::is_same_v<T, std::uint64_t>) return element::u64;
    else if constexpr (std::is_same_v<T, float>) return element::f32;
    else {
        static_assert(std::is_same_v<T, double>, "metarec: io::archive holds char, int64, uint64, float or double");
        return element::f64;
    }
}
inline constexpr std::size_t element_size(element e) noexcept {
    return e == element::text ? 1 : e == element::f32 ? 4 : 8;
}
inline const char* element_name(element e) noexcept {
    switch (e) {
        case element::text: return "text";
        case element::i64: return "int64";
        case element::u64: return "uint64";
        case element::f32: return "float32";
        case element::f64: return "float64";
    }
    return "unknown";
}
}  // namespace detail

/// An ordered set of named, typed flat arrays (sections), and its file format.
///
/// File layout (all integers little-endian):
///
///     offset 0   8 bytes  magic "METAREC\x1a"
///            8   u32      format version (1)
///           12   u32      number of sections
///           16   u64      bytes of the sections that follow
///           24   sections, each: u16 name length, name, u8 element type, u64 count, count elements
///          end   u32      CRC-32 of every byte before it
///
/// parse() checks the whole file before it reads a value (size, magic, version, checksum,
/// then every section's bounds, no duplicate names): a truncated, corrupted or foreign file
/// is a data_error naming the file, never a partial load. save() writes a temporary file
/// beside the target, fsyncs it, renames it over the target and fsyncs the directory, so a
/// crash at any point leaves either the old file or the new one.
class archive {
public:
    static constexpr std::uint32_t version = 1;              //!< the format version this code writes
    static constexpr std::string_view magic{"METAREC\x1a", 8};  //!< the first 8 bytes of every file

    archive() = default;
    //! an archive whose errors name `file`
    explicit archive(std::string file) : file_(std::move(file)) {}

    //! the file it was read from or is written to (for messages)
    const std::string& file() const noexcept { return file_; }

    /// Adds (or replaces) section `name` with a copy of `values`.
    template <class T>
    void put(std::string_view name, std::span<const T> values) {
        if (name.empty() || name.size() > 65535) throw std::invalid_argument("metarec: io::archive: bad section name");
        section s{std::string(name), detail::element_of<T>(), values.size(), {}};
        s.bytes.resize(values.size_bytes());
        if (!values.empty()) std::memcpy(s.bytes.data(), values.data(), values.size_bytes());
        if (auto* old = find(name)) *old = std::move(s);
        else sections_.push_back(std::move(s));
    }
    //! Adds (or replaces) section `name` with a copy of `values`.
    template <class T>
    void put(std::string_view name, const std::vector<T>& values) { put(name, std::span<const T>(values)); }
    //! a text section
    void put_text(std::string_view name, std::string_view text) { put(name, std::span<const char>(text.data(), text.size())); }
    //! a one-element section
    template <class T>
    void put_scalar(std::string_view name, T value) { put(name, std::span<const T>(&value, 1)); }

    //! whether section `name` exists
    bool contains(std::string_view name) const noexcept { return find(name) != nullptr; }

    /// Section `name` as a vector of T; a data_error if it is missing or holds another type.
    template <class T>
    std::vector<T> get(std::string_view name) const {
        const section& s = require(name, detail::element_of<T>());
        std::vector<T> out(s.count);
        if (s.count) std::memcpy(out.data(), s.bytes.data(), s.bytes.size());
        return out;
    }
    //! section `name` copied into `out`, which must have its size exactly
    template <class T>
    void get_into(std::string_view name, std::span<T> out) const {
        const section& s = require(name, detail::element_of<T>());
        if (s.count != out.size())
            fail("section '" + std::string(name) + "' has " + std::to_string(s.count) + " values, " +
                 std::to_string(out.size()) + " expected");
        if (s.count) std::memcpy(out.data(), s.bytes.data(), s.bytes.size());
    }
    //! a text section
    std::string get_text(std::string_view name) const {
        const section& s = require(name, element::text);
        return std::string(reinterpret_cast<const char*>(s.bytes.data()), s.bytes.size());
    }
    //! a one-element section
    template <class T>
    T get_scalar(std::string_view name) const {
        T value{};
        get_into(name, std::span<T>(&value, 1));
        return value;
    }

    //! the section names, in order
    std::vector<std::string> names() const {
        std::vector<std::string> out;
        for (const auto& s : sections_) out.push_back(s.name);
        return out;
    }

    /// The file's bytes (see the class comment).
    std::vector<std::byte> serialize() const {
        std::vector<std::byte> out;
        const auto append = [&](const void* p, std::size_t n) {
            const auto* b = static_cast<const std::byte*>(p);
            out.insert(out.end(), b, b + n);
        };
        append(magic.data(), magic.size());
        const std::uint32_t v = version, count = std::uint32_t(sections_.size());
        append(&v, 4);
        append(&count, 4);
        const std::size_t size_at = out.size();
        std::uint64_t body = 0;
        append(&body, 8);
        for (const auto& s : sections_) {
            const auto length = std::uint16_t(s.name.size());
            const auto type = std::uint8_t(s.type);
            const std::uint64_t n = s.count;
            append(&length, 2);
            append(s.name.data(), s.name.size());
            append(&type, 1);
            append(&n, 8);
            append(s.bytes.data(), s.bytes.size());
        }
        body = out.size() - (size_at + 8);
        std::memcpy(out.data() + size_at, &body, 8);
        const std::uint32_t crc = crc32(out);
        append(&crc, 4);
        return out;
    }

    /// Reads an archive from the bytes of a file named `file`, checking everything first.
    static archive parse(std::span<const std::byte> bytes, std::string file) {
        archive a(std::move(file));
        constexpr std::size_t head = 24, tail = 4;
        const auto read = [&](std::size_t at, auto& value) { std::memcpy(&value, bytes.data() + at, sizeof value); };
        if (bytes.size() < magic.size() || std::memcmp(bytes.data(), magic.data(), magic.size()) != 0)
            a.fail(bytes.empty() ? "the file is empty" : "not a metarec model or checkpoint (no METAREC magic)");
        if (bytes.size() < head + tail) a.fail("truncated file (" + std::to_string(bytes.size()) + " bytes)");
        std::uint32_t v = 0, count = 0, crc = 0;
        std::uint64_t body = 0;
        read(8, v);
        read(12, count);
        read(16, body);
        if (v == 0 || v > version)
            a.fail("format version " + std::to_string(v) + " (this metarec reads version " + std::to_string(version) +
                   (v > version ? "; the file was written by a newer metarec)" : ")"));
        if (body != bytes.size() - head - tail)
            a.fail(body > bytes.size() - head - tail
                       ? "truncated file: the header announces " + std::to_string(body) + " bytes of sections, " +
                             std::to_string(bytes.size() - head - tail) + " are there"
                       : "the file has " + std::to_string(bytes.size() - head - tail - body) +
                             " bytes more than its header announces");
        read(bytes.size() - tail, crc);
        if (crc != crc32(bytes.first(bytes.size() - tail)))
            a.fail("checksum mismatch: the file is corrupted");
        std::size_t at = head;
        const std::size_t end = bytes.size() - tail;
        for (std::uint32_t i = 0; i < count; ++i) {
            std::uint16_t length = 0;
            std::uint8_t type = 0;
            std::uint64_t n = 0;
            if (end - at < 2) a.fail("section " + std::to_string(i) + " is truncated");
            read(at, length);
            at += 2;
            if (length == 0 || end - at < std::size_t(length) + 9) a.fail("section " + std::to_string(i) + " is truncated");
            std::string name(reinterpret_cast<const char*>(bytes.data() + at), length);
            at += length;
            read(at, type);
            read(at + 1, n);
            at += 9;
            if (type < 1 || type > 5) a.fail("section '" + name + "' has an unknown element type " + std::to_string(type));
            const auto e = element(type);
            if (n > (end - at) / detail::element_size(e))
                a.fail("section '" + name + "' announces " + std::to_string(n) + " values, more than the file holds");
            if (a.find(name)) a.fail("section '" + name + "' appears twice");
            section s{std::move(name), e, std::size_t(n), {}};
            s.bytes.assign(bytes.begin() + std::ptrdiff_t(at), bytes.begin() + std::ptrdiff_t(at + n * detail::element_size(e)));
            at += s.bytes.size();
            a.sections_.push_back(std::move(s));
        }
        if (at != end) a.fail(std::to_string(end - at) + " bytes after the last section");
        return a;
    }

    /// Reads and parses `path`: a data_error naming it if it cannot be read or is not a
    /// complete, uncorrupted archive.
    static archive load(const std::filesystem::path& path) {
        const std::string name = path.string();
        std::error_code ec;
        if (std::filesystem::is_directory(path, ec)) throw data_error(name, 0, 0, "cannot open file (it is a directory)");
        std::ifstream in(path, std::ios::binary);
        if (!in) throw data_error(name, 0, 0, "cannot open file");
        const auto size = std::filesystem::file_size(path, ec);
        if (ec) throw data_error(name, 0, 0, "cannot read the file size");
        std::vector<std::byte> bytes(static_cast<std::size_t>(size));
        in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(size));
        if (in.gcount() != std::streamsize(size)) throw data_error(name, 0, 0, "read error");
        return parse(bytes, name);
    }

    /// Writes the archive to `path` atomically: `path.tmp-<pid>` is written and fsynced, then
    /// renamed over `path`, then the directory is fsynced. Throws std::system_error naming
    /// the file when the system refuses (no space, no permission).
    void save(const std::filesystem::path& path) const {
        const auto bytes = serialize();
        const auto tmp = std::filesystem::path(path.string() + ".tmp-" + std::to_string(::getpid()));
        const auto fail_errno = [&](const char* what, const std::filesystem::path& p) {
            throw std::system_error(errno, std::generic_category(), "metarec: " + std::string(what) + " " + p.string());
        };
        const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0) fail_errno("cannot create", tmp);
        std::size_t done = 0;
        while (done < bytes.size()) {
            const ::ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                const int saved = errno;
                ::close(fd);
                ::unlink(tmp.c_str());
                errno = saved;
                fail_errno("cannot write", tmp);
            }
            done += std::size_t(n);
        }
        if (::fsync(fd) != 0 || ::close(fd) != 0) {
            const int saved = errno;
            ::unlink(tmp.c_str());
            errno = saved;
            fail_errno("cannot flush", tmp);
        }
        if (::rename(tmp.c_str(), path.c_str()) != 0) {
            const int saved = errno;
            ::unlink(tmp.c_str());
            errno = saved;
            fail_errno("cannot rename a temporary file onto", path);
        }
        auto directory = path.parent_path();
        if (directory.empty()) directory = ".";
        if (const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
            ::fsync(dir);  // makes the rename durable; not every file system supports it
            ::close(dir);
        }
    }

    //! throws data_error(file(), 0, 0, reason)
    [[noreturn]] void fail(const std::string& reason) const { throw data_error(file_, 0, 0, reason); }

private:
    struct section {
        std::string name;
        element type;
        std::size_t count;
        std::vector<std::byte> bytes;
    };

    section* find(std::string_view name) noexcept {
        for (auto& s : sections_)
            if (s.name == name) return &s;
        return nullptr;
    }
    const section* find(std::string_view name) const noexcept { return const_cast<archive*>(this)->find(name); }

    const section& require(std::string_view name, element type) const {
        const section* s = find(name);
        if (!s) fail("no section '" + std::string(name) + "'");
        if (s->type != type)
            fail("section '" + std::string(name) + "' holds " + detail::element_name(s->type) + ", " +
                 detail::element_name(type) + " expected");
        return *s;
    }

    std::string file_;
    std::vector<section> sections_;
};

}  // namespace metarec::io
