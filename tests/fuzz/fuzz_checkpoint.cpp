// Fuzz target: the model and checkpoint reader. The archive is parsed as given, and (so that
// the fuzzer gets past the checksum) a second time with its CRC-32 recomputed; what parses
// is then loaded as a model and resumed as a checkpoint into a small MAML, whose
// configuration, sizes and sampler checks must refuse anything inconsistent.
// SPDX-License-Identifier: Apache-2.0
#include <cstring>
#include <vector>

#include <metarec/io/archive.hpp>
#include <metarec/io/configuration.hpp>
#include <metarec/loss/mse.hpp>
#include <metarec/meta/maml.hpp>
#include <metarec/nn/nn.hpp>

#include "fuzz_support.hpp"

namespace {
namespace mr = metarec;
using net = mr::nn::model<mr::nn::sequential<mr::nn::concat<mr::nn::embedding<2, 0>, mr::nn::dense<2>>, mr::nn::dense<3>,
                                             mr::nn::tanh, mr::nn::dense<1>>,
                          double>;
using algorithm = mr::meta::meta_sgd<net, mr::loss::mse>;

void try_file(const std::vector<std::byte>& bytes) {
    mr::fuzz::expect_data_error_only([&] {
        const auto a = mr::io::archive::parse(bytes, "fuzz.ckpt");
        (void)mr::io::configuration::read(a);
        const auto path = mr::fuzz::write("fuzz.ckpt", {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
        algorithm model(net{{.dense = 2, .categorical = {4}}, 1}, {.meta_batch = 2});
        try {
            model.load(path);
        } catch (const mr::data_error&) {
        }
        model.resume(path);
    });
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::vector<std::byte> bytes(size);
    if (size) std::memcpy(bytes.data(), data, size);
    try_file(bytes);
    if (size >= 28) {  // the same with a valid checksum
        const std::uint32_t crc = mr::io::crc32(std::span(bytes).first(size - 4));
        std::memcpy(bytes.data() + size - 4, &crc, 4);
        try_file(bytes);
    }
    return 0;
}
