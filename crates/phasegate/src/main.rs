fn main() -> std::process::ExitCode {
    phasegate::main()
}
