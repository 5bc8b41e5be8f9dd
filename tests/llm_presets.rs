//! config.example.providers.toml parses and every preset builds a usable provider.

use std::path::Path;

use kefu::config::Config;
use kefu::llm::Gateway;

#[test]
fn the_provider_presets_load_and_build() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.example.providers.toml");
    let config = Config::load_with_env(Some(&path), &[]).unwrap();
    let names: Vec<&str> = config.providers.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["deepseek", "kimi", "doubao", "qwen", "vllm", "ollama"]
    );
    for p in &config.providers {
        assert!(
            p.base_url.ends_with("/v1") || p.base_url.ends_with("/v3"),
            "{}",
            p.base_url
        );
        let local = p.base_url.starts_with("http://127.0.0.1");
        assert_eq!(
            p.api_key_env.is_empty(),
            local,
            "{}: keyless exactly when local",
            p.name
        );
    }

    // With every key variable set, all six are used; with none, only the keyless local ones.
    let all = Gateway::from_config_with_env(&config.providers, |_| Some("sk-x".into()));
    assert_eq!(all.provider_names().len(), 6);
    let keyless = Gateway::from_config_with_env(&config.providers, |_| None);
    assert_eq!(keyless.provider_names(), ["vllm", "ollama"]);
}
