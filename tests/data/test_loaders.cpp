// metarec tests: the loaders (delimited text, schemas, .npy, MovieLens, generic CSV) on files
// the tests write, and on MovieLens 100K when it is next to the checkout.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include <metarec/data/data.hpp>

#include "../support/error_of.hpp"
namespace mr = metarec;
namespace md = metarec::data;
namespace fs = std::filesystem;

namespace {

// a fresh directory under the system's temporary directory, removed at scope exit
struct scratch_dir {
    fs::path path;
    scratch_dir() {
        static int counter = 0;
        path = fs::temp_directory_path() / ("metarec-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
        fs::create_directories(path);
    }
    ~scratch_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
    fs::path write(const std::string& name, const std::string& bytes) const {
        std::ofstream(path / name, std::ios::binary) << bytes;
        return path / name;
    }
};

// the data_error message of `f`, or "" when it throws none
const auto data_error_of = [](auto&& f) { return mr::test::error_of<mr::data_error>(f); };

// a .npy file with the given header dictionary and payload: format 1.0 (2-byte header
// length) or 2.0 (4-byte), padded as numpy pads
std::string npy_raw(std::string header, const std::string& payload, int major = 1) {
    const std::size_t prefix = major == 1 ? 10 : 12;
    while ((prefix + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += char(major);
    out += char(0);
    for (std::size_t b = 0; b < prefix - 8; ++b) out += char((header.size() >> (8 * b)) & 0xff);
    return out + header + payload;
}
// a .npy file with the given dtype, shape and payload
std::string npy(const std::string& dtype, const std::string& shape, const std::string& payload, int major = 1,
                const std::string& fortran = "False") {
    return npy_raw("{'descr': '" + dtype + "', 'fortran_order': " + fortran + ", 'shape': " + shape + ", }", payload, major);
}
template <class T>
std::string bytes_of(const std::vector<T>& values) {
    return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T));
}

}  // namespace

TEST_CASE("delimited_reader: quotes, CRLF, blank lines, BOM, Latin-1, line numbers") {
    scratch_dir dir;
    const auto file = dir.write("a.csv", "\xEF\xBB\xBFid,name,note\r\n1,\"Smith, J.\",\"say \"\"hi\"\"\"\r\n\r\n\n2,Caf\xE9,\"two\nlines\"\n3,,\n");
    md::delimited_reader in(file, ",");
    REQUIRE(in.next());
    CHECK(in.field(0) == "id");
    REQUIRE(in.next());
    CHECK(in.line() == 2);
    CHECK(in.field(1) == "Smith, J.");
    CHECK(in.field(2) == "say \"hi\"");
    REQUIRE(in.next());
    CHECK(in.line() == 5);
    CHECK(in.field(1) == "Caf\xE9");
    CHECK(in.field(2) == "two\nlines");
    REQUIRE(in.next());
    CHECK(in.line() == 7);
    CHECK(in.size() == 3);
    CHECK(in.field(1).empty());
    CHECK(!in.next());

    md::delimited_reader multi(dir.write("b.dat", "1::2::3.5\n"), "::", false);
    REQUIRE(multi.next());
    CHECK(multi.size() == 3);
    CHECK(multi.number(2, "rating") == 3.5);

    const auto path = dir.path.string();
    CHECK(data_error_of([&] { md::delimited_reader(dir.path / "missing.csv", ","); }) == path + "/missing.csv: cannot open file");
    CHECK(data_error_of([&] {
              md::delimited_reader r(dir.write("c.csv", "a,b\n1,\"open\n"), ",");
              while (r.next()) {
              }
          }) == path + "/c.csv:2:2: unterminated quoted field");
    CHECK(data_error_of([&] { md::delimited_reader(dir.write("d.csv", std::string("a,b\n1,\0\n", 8)), ","); }) ==
          path + "/d.csv:2: a NUL byte: binary data, or UTF-16/UTF-32 text (save the file as UTF-8)");
    md::delimited_reader numbers(dir.write("e.csv", "x,nan,1e400,7x\n"), ",");
    REQUIRE(numbers.next());
    CHECK(data_error_of([&] { numbers.number(0, "rating"); }) == path + "/e.csv:1:1: rating 'x' is not a number");
    CHECK(data_error_of([&] { numbers.number(1, "rating"); }) == path + "/e.csv:1:2: rating 'nan' is not finite");
    CHECK(data_error_of([&] { numbers.number(2, "rating"); }).find("e.csv:1:3: rating '1e400'") != std::string::npos);
    CHECK(data_error_of([&] { numbers.integer(3, "timestamp"); }) ==
          path + "/e.csv:1:4: timestamp '7x' is not an integer");
    CHECK(data_error_of([&] { numbers.expect_fields(3); }) == path + "/e.csv:1: expected 3 fields, found 4");
}

TEST_CASE("delimited_reader: delimiters, trailing fields, stray quotes and line ends") {
    scratch_dir dir;
    const auto path = dir.path.string();
    // tab and `::` delimiters; a lone ':' inside a `::` file is data; a trailing delimiter makes an empty field
    md::delimited_reader tabs(dir.write("t.tsv", "1\t2\t\n"), "\t", false);
    REQUIRE(tabs.next());
    CHECK(tabs.size() == 3);
    CHECK(tabs.field(2).empty());
    md::delimited_reader colons(dir.write("c.dat", "a:b::c:::d\n"), "::", false);
    REQUIRE(colons.next());
    REQUIRE(colons.size() == 3);
    CHECK(colons.field(0) == "a:b");
    CHECK(colons.field(1) == "c");
    CHECK(colons.field(2) == ":d");
    // a quoted field holding the delimiter, a CRLF and a quote, last in a file without a final newline
    md::delimited_reader quoted(dir.write("q.csv", "x|\"a|b\r\nc\"\"\""), "|");
    REQUIRE(quoted.next());
    CHECK(quoted.size() == 2);
    CHECK(quoted.field(1) == "a|b\r\nc\"");
    CHECK(!quoted.next());
    // quotes off: a quote is an ordinary byte
    md::delimited_reader plain(dir.write("p.dat", "\"a::b\n"), "::", false);
    REQUIRE(plain.next());
    CHECK(plain.field(0) == "\"a");
    // a file holding only a BOM and blank lines has no rows
    md::delimited_reader bom(dir.write("bom.csv", "\xEF\xBB\xBF\r\n\n"), ",");
    CHECK(!bom.next());
    // text after a closing quote, and a carriage return alone, are errors of their row; the reader goes on
    md::delimited_reader stray(dir.write("s.csv", "a,\"b\"c,d\ne,f\rg\nh,i\n"), ",");
    CHECK(data_error_of([&] { stray.next(); }) == path + "/s.csv:1:2: unexpected character after a closing quote");
    CHECK(data_error_of([&] { stray.next(); }) == path + "/s.csv:2:2: a carriage return not followed by a line feed");
    REQUIRE(stray.next());
    CHECK(stray.line() == 3);
    CHECK(stray.field(1) == "i");
    CHECK(stray.readable());
    // an unterminated quote reports the line where the field starts and ends the file
    md::delimited_reader open(dir.write("u.csv", "a,b\nc,\"d\ne\nf\n"), ",");
    REQUIRE(open.next());
    CHECK(data_error_of([&] { open.next(); }) == path + "/u.csv:2:2: unterminated quoted field");
    CHECK(!open.readable());
    CHECK(data_error_of([&] { md::delimited_reader(dir.path, ","); }) ==
          path + ": cannot open file (it is a directory)");
    CHECK(data_error_of([&] { md::delimited_reader r(dir.write("n.csv", "a\n"), ","); r.next(); r.field(3); }) ==
          path + "/n.csv:1: expected at least 4 fields, found 1");
    // binary garbage: an error with the line of the first NUL, never a crash
    std::string garbage;
    for (int b = 0; b < 512; ++b) garbage += char((b * 97 + 13) % 256);
    CHECK(data_error_of([&] { md::delimited_reader(dir.write("g.bin", garbage), ","); })
              .find("a NUL byte: binary data") != std::string::npos);
    // numbers: from_chars, whole field, finite; spaces around are fine
    md::delimited_reader numbers(dir.write("num.csv", " 4.5 ,inf,-12,3.0,,1e5\n"), ",");
    REQUIRE(numbers.next());
    CHECK(numbers.number(0, "rating") == 4.5);
    CHECK(data_error_of([&] { numbers.number(1, "rating"); }) == path + "/num.csv:1:2: rating 'inf' is not finite");
    CHECK(numbers.integer(2, "timestamp") == -12);
    CHECK(data_error_of([&] { numbers.integer(3, "timestamp"); }) == path + "/num.csv:1:4: timestamp '3.0' is not an integer");
    CHECK(data_error_of([&] { numbers.number(4, "rating"); }) == path + "/num.csv:1:5: rating '' is not a number");
    CHECK(numbers.number(5, "rating") == 1e5);
}

TEST_CASE("parse_schema: kinds, files, and a clear error for each mistake") {
    const auto schema = md::parse_schema(" genre:multi, director:cat,year:num ,text:dense( items_text.npy )", "--item-schema");
    REQUIRE(schema.size() == 4);
    CHECK(schema[0].name == "genre");
    CHECK(schema[0].kind == md::field_kind::multi);
    CHECK(schema[1].kind == md::field_kind::categorical);
    CHECK(schema[2].kind == md::field_kind::numeric);
    CHECK(schema[3].kind == md::field_kind::dense);
    CHECK(schema[3].source == "items_text.npy");
    CHECK(md::parse_schema("", "s").empty());
    CHECK(data_error_of([] { md::parse_schema("a:cat,b:blob", "--item-schema"); }) ==
          "--item-schema:1:9: unknown kind 'blob' of field 'b' (expected cat, multi, num or dense(file.npy))");
    CHECK(data_error_of([] { md::parse_schema("a:cat,a:num", "s"); }) == "s:1:7: duplicate field 'a'");
    CHECK(data_error_of([] { md::parse_schema("a", "s"); }).find("s:1:1: 'a' has no ':kind'") == 0);
    CHECK(data_error_of([] { md::parse_schema(":cat", "s"); }) == "s:1:1: empty field name");
    CHECK(data_error_of([] { md::parse_schema("t:dense", "s"); }) == "s:1:3: dense needs its file: dense(file.npy)");
    CHECK(data_error_of([] { md::parse_schema("t:dense(x.npy", "s"); }).find("unbalanced '('") != std::string::npos);
    CHECK(data_error_of([] { md::parse_schema("a:cat,,b:cat", "s"); }) == "s:1:7: empty field entry");
    CHECK(data_error_of([] { md::parse_schema("a:cat,", "s"); }) == "s:1:7: empty field entry");
    CHECK(data_error_of([] { md::parse_schema("a:cat,t:dense(x.npy", "s"); }) == "s:1:14: unbalanced '(' in 't:dense(x.npy'");
    CHECK(data_error_of([] { md::parse_schema("t:dense x.npy)", "s"); }) == "s:1:14: unbalanced ')'");
    CHECK(data_error_of([] { md::parse_schema("t:dense()", "s"); }) == "s:1:3: dense needs its file: dense(file.npy)");
    CHECK(data_error_of([] { md::parse_schema("t:dense(a)(b)", "s"); }) ==
          "s:1:3: dense needs its file: dense(file.npy)");
    CHECK(data_error_of([] { md::parse_schema("t:denser", "s"); }).find("s:1:3: unknown kind 'denser'") == 0);
    CHECK(data_error_of([] { md::parse_schema("  a : cat , a:multi", "--user-schema"); }) ==
          "--user-schema:1:13: duplicate field 'a'");
    // tabs are spaces too; a blank string has no fields; positions are kept for later errors
    const auto spaced = md::parse_schema("\tage :\tnum ,\tzip:cat\t", "s");
    REQUIRE(spaced.size() == 2);
    CHECK(spaced[0].name == "age");
    CHECK(spaced[0].position == 2);
    CHECK(spaced[1].name == "zip");
    CHECK(spaced[1].position == 14);
    CHECK(md::parse_schema(" \t ", "s").empty());
    const auto item = md::parse_schema("genre:multi,director:cat,actors:multi,year:num,text:dense(items_text.npy)", "s");
    REQUIRE(item.size() == 5);
    CHECK(item[4].source == "items_text.npy");
}

TEST_CASE("load_npy: float32 and float64, and every malformed file rejected") {
    scratch_dir dir;
    const auto f32 = md::load_npy(dir.write("a.npy", npy("<f4", "(2, 3)", bytes_of<float>({1, 2, 3, 4, 5, 6}))));
    CHECK(f32.rows == 2);
    CHECK(f32.cols == 3);
    CHECK(f32.values == std::vector<float>{1, 2, 3, 4, 5, 6});
    const auto f64 = md::load_npy(dir.write("b.npy", npy("<f8", "(3,)", bytes_of<double>({0.5, 1.5, 2.5}))));
    CHECK(f64.rows == 3);
    CHECK(f64.cols == 1);
    CHECK(f64.values[2] == 2.5f);
    const auto message = [&](const std::string& name, const std::string& bytes) {
        return data_error_of([&] { md::load_npy(dir.write(name, bytes)); });
    };
    CHECK(message("c.npy", npy("<f4", "(2, 3)", bytes_of<float>({1, 2, 3})))
              .find("needs 24 (truncated file)") != std::string::npos);
    CHECK(message("d.npy", npy("<i8", "(2,)", bytes_of<std::int64_t>({1, 2}))).find("dtype '<i8' is not supported") !=
          std::string::npos);
    CHECK(message("e.npy", npy("<f4", "(1, 2, 2)", bytes_of<float>({1, 2, 3, 4}))).find("expected a 2-D array") !=
          std::string::npos);
    CHECK(message("f.npy", "not numpy at all").find("not a valid .npy file") != std::string::npos);
    CHECK(message("g.npy", npy("<f4", "(1, 2)", bytes_of<float>({1, std::numeric_limits<float>::quiet_NaN()}))) ==
          (dir.path / "g.npy").string() + ": the value at row 0, column 1 (0-based) is NaN");
    CHECK(message("g2.npy", npy("<f8", "(2, 1)", bytes_of<double>({1, -std::numeric_limits<double>::infinity()}))) ==
          (dir.path / "g2.npy").string() + ": the value at row 1, column 0 (0-based) is infinite");
    CHECK(message("g3.npy", npy("<f8", "(1, 1)", bytes_of<double>({1e300}))).find("too large for float") != std::string::npos);
    CHECK(message("h.npy", npy("<f4", "(100000000000, 2)", "")) ==
          (dir.path / "h.npy").string() + ": the payload has 0 bytes, the header's shape 100000000000 x 2 needs 800000000000 (truncated file)");
    // a shape whose size overflows 64 bits is refused before anything is allocated
    CHECK(message("h2.npy", npy("<f4", "(1, 4611686018427387904)", "")).find("needs more than 2^64 (truncated file)") !=
          std::string::npos);
    CHECK(message("h3.npy", npy("<f4", "(1, 2)", bytes_of<float>({1, 2, 3}))) ==
          (dir.path / "h3.npy").string() + ": the payload has 12 bytes, the header's shape 1 x 2 needs 8");
    CHECK(message("i.npy", "").find("not a valid .npy file") != std::string::npos);
    CHECK(message("j.npy", npy("<f4", "(2,)", bytes_of<float>({1, 2}), 1, "True")).find("Fortran-ordered") != std::string::npos);
    CHECK(message("k.npy", npy(">f4", "(2,)", bytes_of<float>({1, 2}))).find("dtype '>f4' is not supported") != std::string::npos);
    CHECK(message("l.npy", npy("<f4", "()", bytes_of<float>({1}))).find("found 0 dimensions") != std::string::npos);
    // headers xtensor's parser would index out of bounds on: refused first
    CHECK(message("m.npy", npy_raw("{'descr': '<f4', 'fortran_order': False, 'shape': }", "")).find("not a valid .npy file") !=
          std::string::npos);
    CHECK(message("n.npy", npy_raw("", "")).find("not a valid .npy file") != std::string::npos);
    CHECK(message("o.npy", npy("<f4", "(1, 1)", bytes_of<float>({1})).substr(0, 20)).find("exceeds the file") !=
          std::string::npos);
    CHECK(message("o2.npy", "\x93NUMPY\x01").find("truncated header") != std::string::npos);
    // a header length larger than the file (version 2.0's 4-byte length)
    std::string huge = npy("<f4", "(1,)", bytes_of<float>({1}), 2);
    huge[8] = huge[9] = huge[10] = huge[11] = char(0x7f);
    CHECK(message("p.npy", huge).find("exceeds the file") != std::string::npos);
    CHECK(message("q.npy", std::string("\x93NUMPY\x04\x00xx", 10)).find("unsupported .npy format version 4.0") != std::string::npos);
    CHECK(data_error_of([&] { md::load_npy(dir.path / "absent.npy"); }) == (dir.path / "absent.npy").string() + ": cannot open file");
    CHECK(data_error_of([&] { md::load_npy(dir.path); }).find("it is a directory") != std::string::npos);

    // format 2.0, and a header length whose low byte is >= 0x80 (xtensor's own reader
    // sign-extends it)
    const auto v2 = md::load_npy(dir.write("v2.npy", npy("<f8", "(1, 2)", bytes_of<double>({7, 8}), 2)));
    CHECK(v2.values == std::vector<float>{7, 8});
    std::string padded = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), }";
    padded.resize(182 - 1, ' ');  // with the newline: a 182-byte (0xB6) header
    std::string wide = "\x93NUMPY";
    wide += char(1);
    wide += char(0);
    wide += char(182);
    wide += char(0);
    wide += padded + "\n" + bytes_of<float>({2.5f});
    const auto w = md::load_npy(dir.write("wide.npy", wide));
    CHECK(w.values == std::vector<float>{2.5f});
}

TEST_CASE("load_csv: features by schema, quoted multi-valued cells, dense vectors, keys checked") {
    scratch_dir dir;
    dir.write("interactions.csv", "user,item,rating,timestamp\r\nu1,i1,4,100\r\nu2,i2,2.5,200\r\n\r\nu1,i2,5,300\r\n");
    dir.write("users.csv", "user,age,region,unused\nu1,31,north,x\nu2,45,south,y\n");
    dir.write("items.csv", "item,genre,brand,title\ni1,\"Drama|Comedy\",acme,\"A, B\"\ni2,,acme,C\n");
    dir.write("text.npy", npy("<f4", "(2, 2)", bytes_of<float>({1, 2, 3, 4})));
    const md::csv_files files{dir.path / "interactions.csv", dir.path / "users.csv", dir.path / "items.csv",
                              "age:num,region:cat", "genre:multi,brand:cat,text:dense(text.npy)"};
    const auto data = md::load_csv(files);
    CHECK(data.interactions.size() == 3);
    CHECK(data.has_timestamps);
    CHECK(data.users.numeric.size() == 1);
    CHECK(data.users.numeric[0].values == std::vector<float>{31, 45});
    CHECK(data.users.categorical[0].vocabulary == std::vector<std::string>{"north", "south"});
    REQUIRE(data.items.multi.size() == 1);
    CHECK(data.items.multi[0].vocabulary == std::vector<std::string>{"Drama", "Comedy"});
    CHECK(data.items.multi[0].offsets == std::vector<mr::id_type>{0, 2, 2});
    REQUIRE(data.items.dense.size() == 1);
    CHECK(data.items.dense[0].dim == 2);
    CHECK(data.items.dense[0].values[2] == 3.f);
    CHECK(data.interactions[1].rating == 2.5f);
    CHECK(data.interactions[2].user == data.interactions[0].user);
    CHECK(data.interactions[2].timestamp == 300);

    // without feature files: users and items are the keys of the interactions; no schema: all cat
    const auto bare = md::load_csv({dir.path / "interactions.csv"});
    CHECK(bare.users.rows() == 2);
    CHECK(bare.items.rows() == 2);
    const auto all_cat = md::load_csv({dir.path / "interactions.csv", dir.path / "users.csv"});
    CHECK(all_cat.users.categorical.size() == 3);

    const auto path = dir.path.string();
    const auto fails = [&](md::csv_files f) { return data_error_of([&] { md::load_csv(f); }); };
    dir.write("unknown_user.csv", "user,item,rating\nu1,i1,4\nu9,i1,3\n");
    CHECK(fails({dir.path / "unknown_user.csv", dir.path / "users.csv"}) ==
          path + "/unknown_user.csv:3:1: user 'u9' has no row in the users file");
    dir.write("bad_header.csv", "user,product,rating\n");
    CHECK(fails({dir.path / "bad_header.csv"}) == path + "/bad_header.csv:1:2: column 2 must be 'item', found 'product'");
    dir.write("short.csv", "user,item,rating\nu1,i1\n");
    CHECK(fails({dir.path / "short.csv"}) == path + "/short.csv:2: expected 3 fields, found 2");
    dir.write("empty.csv", "");
    CHECK(fails({dir.path / "empty.csv"}) == path + "/empty.csv: empty file (expected a header)");
    dir.write("dup_users.csv", "user,age\nu1,3\nu1,4\n");
    CHECK(fails({dir.path / "interactions.csv", dir.path / "dup_users.csv", {}, "age:num"}) ==
          path + "/dup_users.csv:3: duplicate row for id 'u1'");
    dir.write("dup_columns.csv", "user,age,age\nu1,3,4\n");
    CHECK(fails({dir.path / "interactions.csv", dir.path / "dup_columns.csv"}) == path + "/dup_columns.csv:1:3: duplicate column 'age'");
    dir.write("bad_num.csv", "user,age\nu1,old\nu2,4\n");
    CHECK(fails({dir.path / "interactions.csv", dir.path / "bad_num.csv", {}, "age:num"}) ==
          path + "/bad_num.csv:2:2: numeric field 'age': 'old' is not a finite number");
    CHECK(fails({dir.path / "interactions.csv", dir.path / "users.csv", {}, "age:num, height:num"}) ==
          "--user-schema:1:10: field 'height' is not a column of " + path + "/users.csv (columns: age, region, unused)");
    dir.write("short_text.npy", npy("<f4", "(1, 2)", bytes_of<float>({1, 2})));
    CHECK(fails({dir.path / "interactions.csv", {}, dir.path / "items.csv", {}, "text:dense(short_text.npy)"}) ==
          path + "/short_text.npy: dense field 'text' has 1 rows, " + path + "/items.csv has 2");
}

TEST_CASE("load_csv: optional timestamps, name, keys, empty and non-finite cells") {
    scratch_dir dir;
    const fs::path shop = dir.path / "shop";
    fs::create_directories(shop);
    const auto path = shop.string();
    const auto fails = [&](md::csv_files f) { return data_error_of([&] { md::load_csv(f); }); };
    // a quoted header, no timestamps, a BOM, Latin-1 keys kept byte for byte
    std::ofstream(shop / "interactions.csv", std::ios::binary) << "\xEF\xBB\xBF\"user\",item,rating\nJos\xE9,i1,1\nu2,i1,0\n";
    std::ofstream(shop / "items.csv", std::ios::binary) << "item,price,tags\ni1,9.5,\"a| b |a\"\ni2,3,\n";
    const auto data = md::load_csv({shop / "interactions.csv", {}, shop / "items.csv", {}, " \t"});
    CHECK(data.name == "shop");
    CHECK(!data.has_timestamps);
    CHECK(data.interactions[0].timestamp == 0);
    CHECK(data.users.keys == std::vector<std::string>{"Jos\xE9", "u2"});
    CHECK(data.users.row("Jos\xE9") == 0);
    CHECK(data.items.rows() == 2);                 // items.csv's rows, even those without interactions
    CHECK(data.items.categorical.size() == 2);     // a blank schema: every column is `cat`
    const auto typed = md::load_csv({shop / "interactions.csv", {}, shop / "items.csv", {}, "price:num,tags:multi"});
    CHECK(typed.items.numeric[0].values == std::vector<float>{9.5f, 3});
    CHECK(typed.items.multi[0].vocabulary == std::vector<std::string>{"a", "b"});  // trimmed, each once per row
    CHECK(typed.items.multi[0].offsets == std::vector<mr::id_type>{0, 2, 2});

    std::ofstream(shop / "unknown_item.csv") << "user,item,rating\nu1,i1,4\nu1,i1,4\n\nu1,i7,2\n";
    CHECK(fails({shop / "unknown_item.csv", {}, shop / "items.csv"}) ==
          path + "/unknown_item.csv:5:2: item 'i7' has no row in the items file");
    std::ofstream(shop / "nan.csv") << "user,item,rating\nu1,i1,NaN\n";
    CHECK(fails({shop / "nan.csv"}) == path + "/nan.csv:2:3: rating 'NaN' is not finite");
    std::ofstream(shop / "garbage.csv") << "user,item,rating\nu1,i1,4stars\n";
    CHECK(fails({shop / "garbage.csv"}) == path + "/garbage.csv:2:3: rating '4stars' is not a number");
    std::ofstream(shop / "no_id.csv") << "user,item,rating\n,i1,4\n";
    CHECK(fails({shop / "no_id.csv"}) == path + "/no_id.csv:2:1: empty user id");
    std::ofstream(shop / "time.csv") << "user,item,rating,timestamp\nu1,i1,4,soon\n";
    CHECK(fails({shop / "time.csv"}) == path + "/time.csv:2:4: timestamp 'soon' is not an integer");
    std::ofstream(shop / "only_header.csv") << "user,item,rating\n";
    CHECK(fails({shop / "only_header.csv"}) == path + "/only_header.csv: no interactions");
    std::ofstream(shop / "empty_num.csv") << "item,price\ni1,\ni2,3\n";
    CHECK(fails({shop / "interactions.csv", {}, shop / "empty_num.csv", {}, "price:num"}) ==
          path + "/empty_num.csv:2:2: numeric field 'price': '' is not a finite number");
    std::ofstream(shop / "keyless.csv") << "id,price\ni1,3\n";
    CHECK(fails({shop / "interactions.csv", {}, shop / "keyless.csv"}) == path + "/keyless.csv:1:1: the first column must be 'item'");
    CHECK(fails({shop / "interactions.csv", {}, shop / "items.csv", {}, "item:cat"}) ==
          "--item-schema:1:1: 'item' is the key column of " + path + "/items.csv, not a field");
    CHECK(fails({shop / "interactions.csv", {}, shop / "items.csv", {}, "price:float"}).find("--item-schema:1:7: unknown kind 'float'") ==
          0);
    CHECK(fails({shop / "interactions.csv", {}, {}, "age:num"}) == "--user-schema: a user schema needs a users file");
    CHECK(fails({shop / "interactions.csv", {}, shop / "absent.csv"}) == path + "/absent.csv: cannot open file");
    std::ofstream(shop / "ragged.csv") << "item,price\ni1,3,extra\n";
    CHECK(fails({shop / "interactions.csv", {}, shop / "ragged.csv"}) == path + "/ragged.csv:2: expected 2 fields, found 3");
    std::ofstream(shop / "nothing.csv") << "item,price\n";
    CHECK(fails({shop / "interactions.csv", {}, shop / "nothing.csv"}) == path + "/nothing.csv: no rows");
}

TEST_CASE("load_csv: interaction logs without ratings, event weights; prepare_implicit merges and filters") {
    scratch_dir dir;
    // user,item: every row a positive of strength 1, no time
    const auto plain = md::load_csv({dir.write("plain.csv", "user,item\nu1,i1\nu1,i2\nu2,i1\n")});
    CHECK(plain.implicit);
    CHECK(!plain.has_timestamps);
    CHECK(plain.interactions.size() == 3);
    CHECK(plain.interactions[2].rating == 1);
    // user,item,timestamp
    const auto timed = md::load_csv({dir.write("timed.csv", "user,item,timestamp\nu1,i1,30\nu1,i2,20\n")});
    CHECK(timed.implicit);
    CHECK(timed.has_timestamps);
    CHECK(timed.interactions[1].timestamp == 20);
    // a rating column stays explicit
    CHECK(!md::load_csv({dir.write("rated.csv", "user,item,rating\nu1,i1,4\n")}).implicit);
    // user,item,event,timestamp with weights; without --events every event weighs 1
    const auto log = dir.write("log.csv",
                               "user,item,event,timestamp\nu1,i1,view,10\nu1,i1,purchase,12\nu1,i2,cart,11\n"
                               "u2,i1,view,13\nu2,i1,view,14\nu3,i3,view,15\n");
    md::csv_files files{log};
    files.events = " view:1, cart:3 ,purchase:5";
    auto weighted = md::load_csv(files);
    CHECK(weighted.implicit);
    REQUIRE(weighted.interactions.size() == 6);
    CHECK(weighted.interactions[0].rating == 1);
    CHECK(weighted.interactions[1].rating == 5);
    CHECK(weighted.interactions[2].rating == 3);
    CHECK(md::load_csv({log}).interactions[1].rating == 1);
    // collapse: one interaction per (user, item), the strongest weight at the first time
    auto collapsed = weighted;
    auto report = md::prepare_implicit(collapsed, {.repeats = md::repeats::collapse});
    CHECK(report.repeats_merged == 2);
    REQUIRE(collapsed.interactions.size() == 4);
    CHECK(collapsed.interactions[0].rating == 5);
    CHECK(collapsed.interactions[0].timestamp == 10);
    CHECK(collapsed.interactions[2].rating == 1);  // u2's two views
    CHECK(collapsed.interactions[2].timestamp == 13);
    // count: the weights summed
    auto counted = weighted;
    md::prepare_implicit(counted, {.repeats = md::repeats::count});
    CHECK(counted.interactions[0].rating == 6);
    CHECK(counted.interactions[2].rating == 2);
    // keep: nothing merged
    auto kept = weighted;
    CHECK(md::prepare_implicit(kept, {.repeats = md::repeats::keep}).repeats_merged == 0);
    CHECK(kept.interactions.size() == 6);
    // the minimum counts, applied until they hold (the 2-core): u3 and i3 (one interaction
    // each) go; then u2 has one interaction (i1) and goes too; i2 then has none... u1 keeps i1, i2
    auto filtered = weighted;
    report = md::prepare_implicit(filtered, {.repeats = md::repeats::collapse, .min_user_count = 2, .min_item_count = 1});
    CHECK(report.dropped_by_min_count == 2);  // u2's i1 and u3's i3
    REQUIRE(filtered.interactions.size() == 2);
    CHECK(filtered.interactions[0].user == 0);
    CHECK(filtered.interactions[1].user == 0);
    auto core = weighted;
    md::prepare_implicit(core, {.repeats = md::repeats::collapse, .min_user_count = 2, .min_item_count = 2});
    CHECK(core.interactions.empty());  // i2 has one user; then u1 has one item; then i1 has none
    CHECK(core.users.rows() == 3);     // feature tables keep every row

    // parse_events: each mistake at its column
    const auto events_error = [&](const char* text) { return data_error_of([&] { md::parse_events(text, "--events"); }); };
    CHECK(md::parse_events("  ", "--events").empty());
    CHECK(md::parse_events("a:1,b:2.5", "--events").weight("b") == 2.5f);
    CHECK(std::isnan(md::parse_events("a:1", "--events").weight("c")));
    CHECK(events_error("a:1,,b:2") == "--events:1:5: empty event entry");
    CHECK(events_error("a:1, :2") == "--events:1:6: empty event name");
    CHECK(events_error("a:-1") == "--events:1:3: the weight of event 'a' must be a number > 0, found '-1'");
    CHECK(events_error("a:inf") == "--events:1:3: the weight of event 'a' must be a number > 0, found 'inf'");
}

TEST_CASE("lenient loading: malformed rows skipped and counted, the rest kept") {
    scratch_dir dir;
    dir.write("interactions.csv", "user,item,rating\nu1,i1,4\nu2,i1,five\nu3\nu4,i2,NaN\nu5,i2,1\n");
    const auto strict = data_error_of([&] { md::load_csv({dir.path / "interactions.csv"}); });
    CHECK(strict.find("interactions.csv:3:3: rating 'five' is not a number") != std::string::npos);
    const auto data = md::load_csv({dir.path / "interactions.csv"}, {.lenient = true});
    CHECK(data.interactions.size() == 2);
    CHECK(data.report.skipped_rows == 3);
    REQUIRE(data.report.first_problems.size() == 3);
    CHECK(data.report.first_problems[1].find(":4: expected 3 fields, found 1") != std::string::npos);
    CHECK(data.users.rows() == 2);  // rejected rows add no user

    // problems past the tenth are counted, not kept; a stray quote is skipped too
    std::string many = "user,item,rating\n";
    for (int r = 0; r < 15; ++r) many += "u,i,bad\n";
    many += "u,\"i\"x,3\nu,i,4\n";
    dir.write("many.csv", many);
    const auto lots = md::load_csv({dir.path / "many.csv"}, {.lenient = true});
    CHECK(lots.interactions.size() == 1);
    CHECK(lots.report.skipped_rows == 16);
    CHECK(lots.report.first_problems.size() == 10);
    CHECK(lots.report.first_problems[0].find("many.csv:2:3: rating 'bad' is not a number") != std::string::npos);
    // fatal problems still throw in lenient mode: an unterminated quote, a bad header, a missing file
    dir.write("open.csv", "user,item,rating\nu,\"i,3\nv,j,4\n");
    CHECK(data_error_of([&] { md::load_csv({dir.path / "open.csv"}, {.lenient = true}); }).find("open.csv:2:2: unterminated quoted field") !=
          std::string::npos);
    dir.write("header.csv", "user\nu\n");
    CHECK(data_error_of([&] { md::load_csv({dir.path / "header.csv"}, {.lenient = true}); }).find("header.csv:1: the header must be") !=
          std::string::npos);
    CHECK(data_error_of([&] { md::load_csv({dir.path / "absent.csv"}, {.lenient = true}); }) ==
          (dir.path / "absent.csv").string() + ": cannot open file");

    // a skipped features row takes its dense row with it: the .npy rows stay aligned
    dir.write("items.csv", "item,brand\na,x\n\"b\"?,y\nc,z\n");
    dir.write("vectors.npy", npy("<f4", "(3, 2)", bytes_of<float>({1, 1, 2, 2, 3, 3})));
    dir.write("ic.csv", "user,item,rating\nu1,a,1\nu1,c,2\n");
    const auto aligned =
        md::load_csv({dir.path / "ic.csv", {}, dir.path / "items.csv", {}, "brand:cat,v:dense(vectors.npy)"}, {.lenient = true});
    CHECK(aligned.report.skipped_rows == 1);
    REQUIRE(aligned.items.rows() == 2);
    CHECK(aligned.items.keys == std::vector<std::string>{"a", "c"});
    CHECK(aligned.items.dense[0].values == std::vector<float>{1, 1, 3, 3});
    dir.write("short.npy", npy("<f4", "(2, 2)", bytes_of<float>({1, 1, 2, 2})));
    CHECK(data_error_of([&] {
              md::load_csv({dir.path / "ic.csv", {}, dir.path / "items.csv", {}, "brand:cat,v:dense(short.npy)"}, {.lenient = true});
          }) == (dir.path / "short.npy").string() + ": has 2 rows, " + (dir.path / "items.csv").string() +
                    " has 3 data rows (1 of them skipped)");
}

TEST_CASE("MovieLens 100K and 1M formats: MeLU's features from files written here") {
    scratch_dir dir;
    const std::string flags_drama = "0|0|0|0|0|0|0|0|1|0|0|0|0|0|0|0|0|0|0", flags_two = "0|1|0|0|0|1|0|0|0|0|0|0|0|0|0|0|0|0|0";
    dir.write("u.user", "\n1|24|M|technician|85711\n2|53|F|other|94043\n");
    dir.write("u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|" + flags_drama + "\n2|Caf\xE9 (1996)||||" + flags_two + "\n");
    dir.write("u.data", "1\t1\t5\t881250949\n2\t2\t3\t881250950\n1\t2\t4\t881250951\n");
    const auto data = md::load_movielens_100k(dir.path);
    CHECK(data.name == "movielens-100k");
    CHECK(data.interactions.size() == 3);
    CHECK(data.users.rows() == 2);
    CHECK(data.users.categorical[1].vocabulary == std::vector<std::string>{"18", "50"});  // ages 24, 53 grouped
    CHECK(data.users.categorical[3].vocabulary == std::vector<std::string>{"85", "94"});  // zip regions
    CHECK(data.items.categorical[0].vocabulary == std::vector<std::string>{"1995", ""});
    CHECK(data.items.multi[0].vocabulary == std::vector<std::string>{"Drama", "Action", "Comedy"});
    CHECK(data.interactions[2].timestamp == 881250951);
    dir.write("u.data", "1\t1\t5\t881250949\n1\t3\t4\t881250951\n");
    CHECK(data_error_of([&] { md::load_movielens_100k(dir.path); }) ==
          (dir.path / "u.data").string() + ":2:2: item '3' has no row in the item file");
    dir.write("u.data", "1\t1\t7\t881250949\n");
    CHECK(data_error_of([&] { md::load_movielens_100k(dir.path); }) ==
          (dir.path / "u.data").string() + ":1:3: rating 7 is not one of 1..5");

    scratch_dir one;
    one.write("users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n");
    one.write("movies.dat", "1::Toy Story (1995)::Animation|Children's|Comedy\n2::Jumanji (1995)::Adventure\n");
    one.write("ratings.dat", "1::1::5::978300760\r\n2::2::3::978302109\r\n");
    const auto m = md::load_movielens_1m(one.path);
    CHECK(m.name == "movielens-1m");
    CHECK(m.interactions.size() == 2);
    CHECK(m.users.categorical[1].vocabulary == std::vector<std::string>{"1", "56"});
    CHECK(m.items.categorical[0].vocabulary == std::vector<std::string>{"1995"});
    CHECK(m.items.multi[0].offsets == std::vector<mr::id_type>{0, 3, 4});
    CHECK(data_error_of([&] { md::load_movielens_1m(dir.path); }) == (dir.path / "users.dat").string() + ": cannot open file");

    // errors of the MovieLens files name their lines and columns
    dir.write("u.item", "1|Toy Story (1995)|Jan 95||http://x|" + flags_drama + "\n");
    CHECK(data_error_of([&] { md::load_movielens_100k(dir.path); }) ==
          (dir.path / "u.item").string() + ":1:3: release date 'Jan 95' does not end with a year (expected e.g. 01-Jan-1995)");
    dir.write("u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|0|0|0|0|0|2|0|0|0|0|0|0|0|0|0|0\n");
    CHECK(data_error_of([&] { md::load_movielens_100k(dir.path); }) ==
          (dir.path / "u.item").string() + ":1:14: genre flag '2' is not 0 or 1");
    dir.write("u.item", "1|Toy Story (1995)|01-Jan-1995||http://x|0|0\n");
    CHECK(data_error_of([&] { md::load_movielens_100k(dir.path); }) == (dir.path / "u.item").string() + ":1: expected 24 fields, found 7");
    dir.write("u.user", "\n1|old|M|technician|85711\n");
    CHECK(data_error_of([&] { md::load_movielens_100k(dir.path); }) == (dir.path / "u.user").string() + ":2:2: age 'old' is not an integer");
    dir.write("u.user", "\n\n");
    CHECK(data_error_of([&] { md::load_movielens_100k(dir.path); }) == (dir.path / "u.user").string() + ": no rows");

    one.write("users.dat", "1::F::20::10::48067\n");
    CHECK(data_error_of([&] { md::load_movielens_1m(one.path); }) ==
          (one.path / "users.dat").string() + ":1:3: age 20 is not one of MovieLens 1M's groups 1, 18, 25, 35, 45, 50, 56");
    // Latin-1 titles, a title without a year, lenient skipping
    one.write("users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n");
    one.write("movies.dat", "1::Caf\xE9 au lait (1993)::Comedy\n2::Untitled::Drama\n3::Bad line\n");
    one.write("ratings.dat", "1::1::5::978300760\n2::2::0::978302109\n2::1::4::978302110\n");
    const auto lenient = md::load_movielens_1m(one.path, {.lenient = true});
    CHECK(lenient.items.rows() == 2);
    CHECK(lenient.items.categorical[0].vocabulary == std::vector<std::string>{"1993", ""});
    CHECK(lenient.interactions.size() == 2);
    CHECK(lenient.report.skipped_rows == 2);
    REQUIRE(lenient.report.first_problems.size() == 2);
    CHECK(lenient.report.first_problems[0] == (one.path / "movies.dat").string() + ":3: expected 3 fields, found 2");
    CHECK(lenient.report.first_problems[1] == (one.path / "ratings.dat").string() + ":2:3: rating 0 is not one of 1..5");
}

TEST_CASE("MovieLens 100K itself, when it is next to the checkout") {
    const fs::path dir = METAREC_DATA_DIR "/ml-100k";
    if (!fs::exists(dir / "u.data")) {
        MESSAGE("skipped: " << dir.string() << " is absent (MovieLens may not be redistributed; see ../shared/data)");
        return;
    }
    const auto data = md::load_movielens_100k(dir);
    CHECK(data.interactions.size() == 100000);
    CHECK(data.users.rows() == 943);
    CHECK(data.items.rows() == 1682);
    CHECK(data.users.categorical[0].vocabulary.size() == 2);   // gender
    CHECK(data.users.categorical[1].vocabulary.size() == 7);   // age groups
    CHECK(data.users.categorical[2].vocabulary.size() == 21);  // occupations
    CHECK(data.users.categorical[3].vocabulary.size() == 111); // zip regions (first two characters)
    CHECK(data.items.categorical[0].vocabulary.size() == 72);  // release years, "" included
    CHECK(data.items.multi[0].vocabulary.size() == 19);        // genres
    CHECK(data.has_timestamps);
    CHECK(data.report.skipped_rows == 0);
    CHECK(data.mean_rating() == doctest::Approx(3.52986).epsilon(1e-5));
}
