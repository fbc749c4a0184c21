// metarec tests: the loaders (delimited text, schemas, .npy, MovieLens, generic CSV) on files
// the tests write, and on MovieLens 100K when it is next to the checkout.
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <unistd.h>

#include <metarec/data/data.hpp>

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

// the error message of `f`, which must throw data_error
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const mr::data_error& e) {
        return e.what();
    }
    return "no error";
}

// a .npy file (format 1.0) with the given dtype, shape and payload
std::string npy(const std::string& dtype, const std::string& shape, const std::string& payload) {
    std::string header = "{'descr': '" + dtype + "', 'fortran_order': False, 'shape': " + shape + ", }";
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += char(1);
    out += char(0);
    out += char(header.size() & 0xff);
    out += char(header.size() >> 8);
    return out + header + payload;
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
    CHECK(error_of([&] { md::delimited_reader(dir.path / "missing.csv", ","); }) == path + "/missing.csv: cannot open file");
    CHECK(error_of([&] {
              md::delimited_reader r(dir.write("c.csv", "a,b\n1,\"open\n"), ",");
              while (r.next()) {
              }
          }) == path + "/c.csv:2:2: unterminated quoted field");
    CHECK(error_of([&] { md::delimited_reader(dir.write("d.csv", std::string("a,b\n1,\0\n", 8)), ","); }) ==
          path + "/d.csv:2: binary data (a NUL byte) in a text file");
    md::delimited_reader numbers(dir.write("e.csv", "x,nan,1e400,7x\n"), ",");
    REQUIRE(numbers.next());
    CHECK(error_of([&] { numbers.number(0, "rating"); }) == path + "/e.csv:1:1: rating 'x' is not a number");
    CHECK(error_of([&] { numbers.number(1, "rating"); }) == path + "/e.csv:1:2: rating 'nan' is not finite");
    CHECK(error_of([&] { numbers.number(2, "rating"); }).find("e.csv:1:3: rating '1e400'") != std::string::npos);
    CHECK(error_of([&] { numbers.integer(3, "timestamp"); }) == path + "/e.csv:1:4: timestamp '7x' is not an integer");
    CHECK(error_of([&] { numbers.expect_fields(3); }) == path + "/e.csv:1: expected 3 fields, found 4");
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
    CHECK(error_of([] { md::parse_schema("a:cat,b:blob", "--item-schema"); }) ==
          "--item-schema:1:9: unknown kind 'blob' of field 'b' (expected cat, multi, num or dense(file.npy))");
    CHECK(error_of([] { md::parse_schema("a:cat,a:num", "s"); }) == "s:1:7: duplicate field 'a'");
    CHECK(error_of([] { md::parse_schema("a", "s"); }).find("s:1:1: 'a' has no ':kind'") == 0);
    CHECK(error_of([] { md::parse_schema(":cat", "s"); }) == "s:1:1: empty field name");
    CHECK(error_of([] { md::parse_schema("t:dense", "s"); }) == "s:1:3: dense needs its file: dense(file.npy)");
    CHECK(error_of([] { md::parse_schema("t:dense(x.npy", "s"); }).find("unbalanced '('") != std::string::npos);
    CHECK(error_of([] { md::parse_schema("a:cat,,b:cat", "s"); }) == "s:1:7: empty field entry");
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
        return error_of([&] { md::load_npy(dir.write(name, bytes)); });
    };
    CHECK(message("c.npy", npy("<f4", "(2, 3)", bytes_of<float>({1, 2, 3})))
              .find("needs 24 (truncated file)") != std::string::npos);
    CHECK(message("d.npy", npy("<i8", "(2,)", bytes_of<std::int64_t>({1, 2}))).find("dtype '<i8' is not supported") !=
          std::string::npos);
    CHECK(message("e.npy", npy("<f4", "(1, 2, 2)", bytes_of<float>({1, 2, 3, 4}))).find("expected a 2-D array") !=
          std::string::npos);
    CHECK(message("f.npy", "not numpy at all").find("not a valid .npy file") != std::string::npos);
    CHECK(message("g.npy", npy("<f4", "(1, 2)", bytes_of<float>({1, std::numeric_limits<float>::quiet_NaN()})))
              .find("row 0, column 1 is not finite") != std::string::npos);
    CHECK(message("h.npy", npy("<f4", "(100000000000, 2)", "")).find("more than the file holds") != std::string::npos);
    CHECK(message("i.npy", "").find("not a valid .npy file") != std::string::npos);
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
    const auto fails = [&](md::csv_files f) { return error_of([&] { md::load_csv(f); }); };
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
    CHECK(fails({dir.path / "interactions.csv", dir.path / "users.csv", {}, "height:num"}) ==
          "--user-schema:1: field 'height' is not a column of " + path + "/users.csv");
    dir.write("short_text.npy", npy("<f4", "(1, 2)", bytes_of<float>({1, 2})));
    CHECK(fails({dir.path / "interactions.csv", {}, dir.path / "items.csv", {}, "text:dense(short_text.npy)"}) ==
          path + "/short_text.npy: dense field 'text' has 1 rows, " + path + "/items.csv has 2");
}

TEST_CASE("lenient loading: malformed rows skipped and counted, the rest kept") {
    scratch_dir dir;
    dir.write("interactions.csv", "user,item,rating\nu1,i1,4\nu2,i1,five\nu3\nu4,i2,NaN\nu5,i2,1\n");
    const auto strict = error_of([&] { md::load_csv({dir.path / "interactions.csv"}); });
    CHECK(strict.find("interactions.csv:3:3: rating 'five' is not a number") != std::string::npos);
    const auto data = md::load_csv({dir.path / "interactions.csv"}, {.lenient = true});
    CHECK(data.interactions.size() == 2);
    CHECK(data.report.skipped_rows == 3);
    REQUIRE(data.report.first_problems.size() == 3);
    CHECK(data.report.first_problems[1].find(":4: expected 3 fields, found 1") != std::string::npos);
    CHECK(data.users.rows() == 2);  // rejected rows add no user
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
    CHECK(error_of([&] { md::load_movielens_100k(dir.path); }) ==
          (dir.path / "u.data").string() + ":2:2: item '3' has no row in the item file");
    dir.write("u.data", "1\t1\t7\t881250949\n");
    CHECK(error_of([&] { md::load_movielens_100k(dir.path); }) ==
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
    CHECK(error_of([&] { md::load_movielens_1m(dir.path); }) == (dir.path / "users.dat").string() + ": cannot open file");
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
    CHECK(data.items.multi[0].vocabulary.size() == 19);        // genres
    CHECK(data.report.skipped_rows == 0);
    CHECK(data.mean_rating() == doctest::Approx(3.52986).epsilon(1e-5));
}
