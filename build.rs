// torch-sys tells its dependents where libtorch lives (DEP_TCH_LIBTORCH_LIB, from its
// `links = "tch"`). Baking that folder in as an rpath lets `cargo run`, the tests and an
// installed binary find libtorch_cpu.so without LD_LIBRARY_PATH.
//
// When that libtorch has CUDA (the PyPI wheel does), libtorch_cuda.so must be linked
// with --no-as-needed: nothing references its symbols directly, so the linker would drop
// it and `Cuda::is_available()` would say false even on a machine with a GPU.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    let Ok(lib) = std::env::var("DEP_TCH_LIBTORCH_LIB") else {
        return;
    };
    println!("cargo:rustc-link-arg=-Wl,-rpath,{lib}");
    if Path::new(&lib).join("libtorch_cuda.so").exists() {
        println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
        println!("cargo:rustc-link-arg=-L{lib}");
        println!("cargo:rustc-link-arg=-ltorch_cuda");
        println!("cargo:rustc-link-arg=-Wl,--as-needed");
    }
}
