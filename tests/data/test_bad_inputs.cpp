// metarec tests: the bad-input corpus (tests/data/bad/): every malformed input of every loader
// is a data_error whose what(), file(), line(), column() and reason() are exactly those of its
// line in expected.tsv (`kind<TAB>case<TAB>arguments<TAB>file:line:column: reason`, paths
// relative to tests/data/bad). With METAREC_PRINT_BAD_INPUTS=1 in the environment it prints
// the messages the loaders give, in the manifest's format, instead (to review them when a
// case is added: every line and column must be checked by hand).
// SPDX-License-Identifier: Apache-2.0
#include <doctest/doctest.h>

#include <cstdint>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <metarec/data/data.hpp>

namespace fs = std::filesystem;
namespace mr = metarec;

namespace {

const fs::path corpus = METAREC_BAD_INPUT_DIR;
const char* const kinds[] = {"csv", "ml100k", "ml1m", "npy"};
constexpr int min_cases_per_kind = 30;

// one line of expected.tsv
struct expectation {
    std::string kind, path, args, message;
    // the message's parts: file:line:column: reason (line and column 0 when left out)
    std::string file, reason;
    std::int64_t line = 0, column = 0;
};

// what a loader threw
struct outcome {
    bool data_error = false;
    std::string what, file, reason;  // paths relative to the corpus
    std::int64_t line = 0, column = 0;
};

// `text` with the corpus' absolute prefix removed everywhere
std::string relative(std::string text) {
    const std::string prefix = corpus.string() + "/";
    for (std::size_t at; (at = text.find(prefix)) != std::string::npos;) text.erase(at, prefix.size());
    return text;
}

template <class Load>
outcome outcome_of(Load&& load) {
    outcome out;
    try {
        load();
        out.what = "(no error)";
    } catch (const mr::data_error& e) {
        out = {true, relative(e.what()), relative(e.file()), relative(e.reason()), e.line(), e.column()};
    } catch (const std::exception& e) {
        out.what = std::string("(not a data_error: ") + e.what() + ")";
    }
    return out;
}

// splits `file:line:column: reason` (line and column optional) into `e`'s parts
void split_message(expectation& e) {
    const auto colon_space = e.message.find(": ");
    REQUIRE_MESSAGE(colon_space != std::string::npos, "no ': ' in the expected message: " << e.message);
    e.reason = e.message.substr(colon_space + 2);
    std::string location = e.message.substr(0, colon_space);
    std::vector<std::int64_t> numbers;  // trailing :N parts, last first
    for (int k = 0; k < 2; ++k) {
        const auto at = location.rfind(':');
        if (at == std::string::npos || at + 1 == location.size() ||
            location.find_first_not_of("0123456789", at + 1) != std::string::npos)
            break;
        numbers.push_back(std::stoll(location.substr(at + 1)));
        location.erase(at);
    }
    e.file = location;
    if (numbers.size() == 1) e.line = numbers[0];
    if (numbers.size() == 2) e.line = numbers[1], e.column = numbers[0];
}

std::vector<expectation> manifest() {
    std::vector<expectation> out;
    std::ifstream in(corpus / "expected.tsv", std::ios::binary);
    REQUIRE_MESSAGE(in, "cannot read " << (corpus / "expected.tsv"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        std::vector<std::string> columns;
        std::istringstream split(line);
        for (std::string column; std::getline(split, column, '\t');) columns.push_back(column);
        REQUIRE_MESSAGE(columns.size() == 4, "expected.tsv: not kind<TAB>case<TAB>arguments<TAB>message: " << line);
        expectation e{columns[0], columns[1], columns[2], columns[3], {}, {}, 0, 0};
        split_message(e);
        out.push_back(std::move(e));
    }
    return out;
}

// the arguments column: "-" or space-separated flags (--user-schema S, --item-schema S, --events E)
mr::data::csv_files csv_files_of(const fs::path& dir, const std::string& args) {
    const auto optional = [&](const char* name) { return fs::exists(dir / name) ? dir / name : fs::path(); };
    mr::data::csv_files files{dir / "interactions.csv", optional("users.csv"), optional("items.csv")};
    std::vector<std::string> words;
    std::istringstream split(args == "-" ? "" : args);
    for (std::string word; split >> word;) words.push_back(word);
    for (std::size_t k = 0; k < words.size(); k += 2) {
        REQUIRE_MESSAGE(k + 1 < words.size(), "argument " << words[k] << " without a value");
        if (words[k] == "--user-schema")
            files.user_schema = words[k + 1];
        else if (words[k] == "--item-schema")
            files.item_schema = words[k + 1];
        else if (words[k] == "--events")
            files.events = words[k + 1];
        else
            FAIL("unknown argument in expected.tsv: " << words[k]);
    }
    return files;
}

// runs the loader of `kind` on case `path` as metarec-coldstart would (--data DIR --format ...)
outcome run_case(const std::string& kind, const std::string& path, const std::string& args) {
    const fs::path dir = corpus / path;
    if (kind == "ml100k") return outcome_of([&] { mr::data::load_movielens_100k(dir); });
    if (kind == "ml1m") return outcome_of([&] { mr::data::load_movielens_1m(dir); });
    if (kind == "csv" || kind == "npy") {
        const auto files = csv_files_of(dir, args);
        return outcome_of([&] { mr::data::load_csv(files); });
    }
    FAIL("unknown loader kind in expected.tsv: " << kind);
    return {};
}

}  // namespace

TEST_CASE("bad-input corpus: every case gets exactly its expected data_error") {
    const auto cases = manifest();
    if (std::getenv("METAREC_PRINT_BAD_INPUTS")) {
        std::set<std::string> listed;
        for (const auto& c : cases) {
            listed.insert(c.path);
            std::cout << c.kind << '\t' << c.path << '\t' << c.args << '\t' << run_case(c.kind, c.path, c.args).what << '\n';
        }
        for (const char* kind : kinds)
            for (const auto& entry : fs::directory_iterator(corpus / kind)) {
                const auto path = std::string(kind) + "/" + entry.path().filename().string();
                if (listed.count(path)) continue;
                const std::string args = std::string(kind) == "npy" ? "--item-schema tags:multi,emb:dense(emb.npy)" : "-";
                std::cout << kind << '\t' << path << '\t' << args << "\t(not listed) " << run_case(kind, path, args).what << '\n';
            }
        return;
    }

    std::map<std::string, int> per_kind;
    std::set<std::string> listed;
    for (const auto& c : cases) {
        CAPTURE(c.path);
        CHECK_MESSAGE(listed.insert(c.path).second, "listed twice in expected.tsv");
        CHECK_MESSAGE(c.path.rfind(c.kind + "/", 0) == 0, "a case of kind " << c.kind << " lies under " << c.kind << "/");
        CHECK_MESSAGE(fs::is_directory(corpus / c.path), "no such case directory");
        ++per_kind[c.kind];
        const auto got = run_case(c.kind, c.path, c.args);
        CHECK_MESSAGE(got.data_error, "expected a metarec::data_error, got " << got.what);
        CHECK(got.what == c.message);
        CHECK(got.file == c.file);
        CHECK(got.line == c.line);
        CHECK(got.column == c.column);
        CHECK(got.reason == c.reason);
        if (c.kind == "npy") {
            // the .npy file itself, through load_npy: the same error, unless the file is
            // fine and the case is about its row count (which load_csv checks)
            const auto direct = outcome_of([&] { mr::data::load_npy(corpus / c.path / "emb.npy"); });
            if (direct.data_error)
                CHECK(direct.what == c.message);
            else
                CHECK_MESSAGE(c.reason.find(" rows, ") != std::string::npos, "load_npy accepts the file: " << direct.what);
        }
    }
    for (const std::string kind : kinds) {
        CAPTURE(kind);
        CHECK_MESSAGE(per_kind[kind] >= min_cases_per_kind,
                      kind << " has " << per_kind[kind] << " cases in expected.tsv, at least " << min_cases_per_kind << " expected");
        for (const auto& entry : fs::directory_iterator(corpus / kind))
            CHECK_MESSAGE(listed.count(kind + "/" + entry.path().filename().string()),
                          "case " << entry.path() << " is not in expected.tsv");
    }
    CHECK(per_kind.size() == std::size(kinds));
}

TEST_CASE("bad-input corpus: an error message is always one line of valid UTF-8") {
    // what the command-line tools print: control characters and bytes that are not UTF-8
    // are escaped, valid UTF-8 is kept
    const mr::data_error e("a\nb.csv", 3, 2, "user 'u\r\n9' has no row; caf\xC3\xA9 \xE9t\xE9 \xC0\xAF \xED\xA0\x80 \t\x01\x7F");
    CHECK(std::string(e.what()) == "a\\nb.csv:3:2: user 'u\\r\\n9' has no row; caf\xC3\xA9 \\xe9t\\xe9 \\xc0\\xaf \\xed\\xa0\\x80 \\t\\x01\\x7f");
    CHECK(e.file() == "a\\nb.csv");
    CHECK(e.reason().starts_with("user 'u\\r\\n9'"));
    CHECK(mr::data_error::printable("\xF0\x9F\x98\x80 \xF4\x90\x80\x80 \xE2\x82") == "\xF0\x9F\x98\x80 \\xf4\\x90\\x80\\x80 \\xe2\\x82");
}
