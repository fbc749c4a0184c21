// Conan test package: includes metarec, builds a one-layer model and checks its parameter count.
// SPDX-License-Identifier: Apache-2.0
#include <cstdio>

#include <metarec/metarec.hpp>

int main() {
    using namespace metarec;
    using net = nn::model<nn::sequential<nn::dense<1>>, double>;
    net model({.dense = 1}, /*seed=*/1);
    std::printf("metarec %d.%d.%d, %lld parameters\n", METAREC_VERSION_MAJOR, METAREC_VERSION_MINOR,
                METAREC_VERSION_PATCH, static_cast<long long>(model.parameter_count()));
    return model.parameter_count() == 2 ? 0 : 1;
}
