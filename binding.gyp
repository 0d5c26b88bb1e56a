{
  "variables": {
    "codec_sources": [
      "native/common/xml_escape.cc",
      "native/common/xml_reader.cc",
      "native/syncml/codec_common.cc",
      "native/syncml/codec_client.cc",
      "native/syncml/codec_device.cc"
    ],
    "common_defines": [
      "NAPI_VERSION=8",
      "NAPI_DISABLE_CPP_EXCEPTIONS",
      "NODE_ADDON_API_DISABLE_DEPRECATED"
    ]
  },
  "target_defaults": {
    "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-Wno-unused-parameter"],
    "cflags_cc!": ["-std=gnu++17", "-std=gnu++1y", "-std=gnu++20"],
    "include_dirs": ["native"],
    "msvs_settings": {
      "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/utf-8"], "ExceptionHandling": 0 }
    },
    "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17" }
  },
  "targets": [
    {
      "target_name": "windows_iot_dm",
      "sources": [
        "<@(codec_sources)",
        "native/common/json.cc",
        "native/common/utf16.cc",
        "native/mdm/library_common.cc",
        "native/system/time_zone.cc",
        "native/system/service.cc",
        "native/addon/addon.cc",
        "native/addon/mdm_session.cc",
        "native/addon/system_session.cc",
        "native/addon/js_args.cc",
        "native/addon/native_error.cc",
        "native/addon/tpm_session.cc",
        "native/peer/peer_credentials.cc",
        "native/tpm/framing.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["<@(common_defines)", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "conditions": [
        [
          "OS=='win'",
          {
            "sources": [
              "native/mdm/library_win.cc",
              "native/system/system_win.cc",
              "native/tpm/tpm_win.cc"
            ],
            "libraries": ["-ladvapi32"]
          }
        ],
        [
          "OS!='win'",
          {
            "sources": [
              "native/mdm/library_posix.cc",
              "native/system/system_posix.cc",
              "native/tpm/tpm_posix.cc"
            ],
            "libraries": ["-ldl"]
          }
        ]
      ]
    },
    {
      "target_name": "mdm_emulator",
      "type": "shared_library",
      "sources": [
        "<@(codec_sources)",
        "native/common/json.cc",
        "native/emulator/exports.cc",
        "native/emulator/apps.cc",
        "native/emulator/behaviors.cc",
        "native/emulator/certificates.cc",
        "native/emulator/device_host.cc",
        "native/emulator/device_info.cc",
        "native/emulator/health_attestation.cc",
        "native/emulator/diagnostic_log.cc",
        "native/emulator/iso8601.cc",
        "native/emulator/reboot_wipe.cc",
        "native/emulator/sha1.cc",
        "native/emulator/sha256.cc",
        "native/emulator/x509.cc",
        "native/emulator/allowed_values.cc",
        "native/emulator/ddf_facts.cc",
        "native/emulator/generated/ddf_facts.inc",
        "native/emulator/engine.cc",
        "native/emulator/node_ops.cc",
        "native/emulator/node_tree.cc",
        "native/emulator/profile.cc",
        "native/emulator/seed.cc",
        "native/emulator/state_store.cc",
        "native/emulator/state_file_os.cc",
        "native/emulator/system_state.cc",
        "native/system/time_zone.cc",
        "native/system/service.cc",
        "native/emulator/uri.cc",
        "native/emulator/utf16_text.cc",
        "native/emulator/value_check.cc"
      ],
      "product_prefix": "",
      "cflags": ["-fvisibility=hidden"],
      "cflags_cc": ["-fvisibility=hidden"],
      "conditions": [["OS=='win'", { "type": "none" }]]
    }
  ]
}
