# Conan 2 recipe for metarec (header-only). Its build is the CMake install that
# tests/package exercises; the components follow the CMake targets metarec::<component>.
#   conan create packaging/conan -o "metarec/*:with_openmp=True" --build=missing
# The dependencies may come from Conan Center or from the system ([platform_requires] in a
# profile; the ctest package.conan does that, see docs/packaging.md).
# SPDX-License-Identifier: Apache-2.0
import os
import re

from conan import ConanFile
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeToolchain, cmake_layout
from conan.tools.files import copy, load, rmdir

required_conan_version = ">=2.0"


class MetarecConan(ConanFile):
    name = "metarec"
    description = "Header-only C++20 meta-learning for cold-start recommendation"
    license = "Apache-2.0"
    topics = ("recommendation", "meta-learning", "maml", "cold-start", "header-only")
    package_type = "header-library"
    settings = "os", "arch", "compiler", "build_type"
    options = {
        "with_xtensor": [True, False],  # metarec::data, the loaders
        "with_openmp": [True, False],   # metarec::omp, device::thrust<system::omp>
        "with_tbb": [True, False],      # metarec::tbb, device::thrust<system::tbb>
        "with_cuda": [True, False],     # metarec::cuda (nvcc and the CUDA toolkit from the system)
    }
    default_options = {"with_xtensor": False, "with_openmp": False, "with_tbb": False, "with_cuda": False}
    no_copy_source = True

    @property
    def _source_root(self):
        return os.path.join(self.recipe_folder, "..", "..")

    def set_version(self):
        # the one place the version is written: include/metarec/version.hpp
        header = load(self, os.path.join(self._source_root, "include", "metarec", "version.hpp"))
        parts = [re.search(rf"#define METAREC_VERSION_{p} (\d+)", header).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
        self.version = ".".join(parts)

    def export_sources(self):
        for pattern in ("CMakeLists.txt", "LICENSE", "cmake/*", "include/*", "cuda/include/*"):
            copy(self, pattern, src=self._source_root, dst=self.export_sources_folder)

    def layout(self):
        cmake_layout(self, src_folder=".")

    def requirements(self):
        # ranges: what metarec's CMake accepts (find_package(Eigen3 3.4), xtensor 0.24 of the
        # one adapter header, Thrust 1.17 host systems), so that a system's versions
        # ([platform_requires], e.g. Debian 12's xtensor 0.24.3 and oneTBB 2021.8) match too
        self.requires("eigen/[>=3.4.0 <4]")
        if self.options.with_xtensor:
            self.requires("xtensor/[>=0.24.0 <0.25]")
        if self.options.with_openmp or self.options.with_tbb:
            self.requires("thrust/[>=1.17.0 <2]")
        if self.options.with_tbb:
            self.requires("onetbb/[>=2021.5.0 <2023]")

    def package_id(self):
        self.info.clear()  # header-only: one package for every configuration

    def validate(self):
        check_min_cppstd(self, 20)

    def generate(self):
        toolchain = CMakeToolchain(self)
        components = []
        for option, component in (("with_xtensor", "data"), ("with_openmp", "omp"), ("with_tbb", "tbb"), ("with_cuda", "cuda")):
            enabled = bool(self.options.get_safe(option))
            toolchain.cache_variables[f"METAREC_ENABLE_{component.upper()}"] = enabled
            if enabled:
                components.append(component)
        thrust = bool(self.options.with_openmp or self.options.with_tbb)
        toolchain.cache_variables["METAREC_ENABLE_THRUST"] = thrust
        if thrust:
            components.append("thrust")
        toolchain.cache_variables["METAREC_ENABLE_MPI"] = False
        toolchain.cache_variables["METAREC_REQUIRE_COMPONENTS"] = ";".join(components)
        for part in ("TESTS", "EXAMPLES", "BENCHMARKS"):
            toolchain.cache_variables[f"METAREC_BUILD_{part}"] = False
        toolchain.cache_variables["METAREC_INSTALL"] = True
        toolchain.generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()

    def package(self):
        cmake = CMake(self)
        cmake.install()
        # Conan's CMakeDeps and PkgConfigDeps write the consumer's config files from package_info
        rmdir(self, os.path.join(self.package_folder, "share"))

    def _from_conan(self, name, component):
        # a dependency the system provides ([platform_requires]) has no cpp_info: Conan's
        # generators cannot name it (conan-io/docs#3908); the consumer finds it itself
        return [f"{name}::{component}"] if name in self.dependencies.host else []

    def package_info(self):
        self.cpp_info.bindirs = []
        self.cpp_info.libdirs = []
        self.cpp_info.set_property("cmake_file_name", "metarec")
        self.cpp_info.set_property("cmake_target_name", "metarec::metarec")
        self.cpp_info.set_property("pkg_config_name", "metarec")

        core = self.cpp_info.components["core"]
        core.set_property("cmake_target_name", "metarec::metarec")
        core.requires = self._from_conan("eigen", "eigen")
        core.bindirs, core.libdirs = [], []
        if self.options.with_xtensor:
            data = self.cpp_info.components["data"]
            data.set_property("cmake_target_name", "metarec::data")
            data.requires = ["core"] + self._from_conan("xtensor", "xtensor")
            data.bindirs, data.libdirs = [], []
        if self.options.with_openmp or self.options.with_tbb:
            thrust = self.cpp_info.components["thrust"]
            thrust.set_property("cmake_target_name", "metarec::thrust")
            thrust.requires = ["core"] + self._from_conan("thrust", "thrust")
            thrust.bindirs, thrust.libdirs = [], []
        if self.options.with_openmp:
            omp = self.cpp_info.components["omp"]
            omp.set_property("cmake_target_name", "metarec::omp")
            omp.requires = ["thrust"]
            omp.cxxflags = ["-fopenmp"]
            omp.sharedlinkflags = omp.exelinkflags = ["-fopenmp"]
            omp.bindirs, omp.libdirs = [], []
        if self.options.with_tbb:
            tbb = self.cpp_info.components["tbb"]
            tbb.set_property("cmake_target_name", "metarec::tbb")
            tbb.requires = ["thrust"] + self._from_conan("onetbb", "onetbb")
            tbb.defines = ["METAREC_HAS_TBB"]
            tbb.bindirs, tbb.libdirs = [], []
        if self.options.with_cuda:
            cuda = self.cpp_info.components["cuda"]
            cuda.set_property("cmake_target_name", "metarec::cuda")
            cuda.requires = ["core"]
            cuda.system_libs = ["cudart", "cublas"]  # from the CUDA toolkit on the system
            cuda.bindirs, cuda.libdirs = [], []
