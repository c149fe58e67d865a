# static_deps.cmake — -DCROSSLINK_STATIC_DEPS=ON: link libcurl, OpenSSL,
# jansson, libyaml and libcurl's own dependencies from Debian's static
# archives; only glibc stays shared. Every process otherwise maps ~35 shared
# libraries (libcurl pulls GnuTLS, krb5, LDAP, SASL, p11-kit, …) whose
# touched pages count in VmRSS: idle VmRSS drops from ~12.4 to ~8 MiB. One
# copy of OpenSSL: libssh2.a links against libcrypto.a too. libcurl's
# RTMP/LDAP/GSS-API backends are stubbed out (pkg/cmake/curl_static_stubs.c
# says why). Needs, besides the usual -dev packages: libnghttp2-dev
# libssh2-1-dev libpsl-dev libidn2-dev libunistring-dev libzstd-dev
# libbrotli-dev zlib1g-dev. Included from the top-level CMakeLists.txt after
# pkg_check_modules: it rewrites the link interface of the PkgConfig::
# targets, so every binary (tests included) links the same way.

set(_xl_static_names
  curl nghttp2 ssh2 psl idn2 unistring zstd brotlidec brotlicommon z ssl crypto jansson yaml)
foreach(_n ${_xl_static_names})
  find_library(XL_STATIC_${_n} NAMES lib${_n}.a)
  if(NOT XL_STATIC_${_n})
    message(FATAL_ERROR "CROSSLINK_STATIC_DEPS: lib${_n}.a not found (see pkg/cmake/static_deps.cmake for the packages)")
  endif()
endforeach()

add_library(xl_curl_static_stubs STATIC ${CMAKE_CURRENT_LIST_DIR}/curl_static_stubs.c)

set_property(TARGET PkgConfig::OPENSSL PROPERTY INTERFACE_LINK_LIBRARIES
  ${XL_STATIC_ssl} ${XL_STATIC_crypto} Threads::Threads ${CMAKE_DL_LIBS})
set_property(TARGET PkgConfig::CURL PROPERTY INTERFACE_LINK_LIBRARIES
  ${XL_STATIC_curl} ${XL_STATIC_nghttp2} ${XL_STATIC_ssh2} ${XL_STATIC_psl} ${XL_STATIC_idn2}
  ${XL_STATIC_unistring} ${XL_STATIC_zstd} ${XL_STATIC_brotlidec} ${XL_STATIC_brotlicommon} ${XL_STATIC_z}
  xl_curl_static_stubs PkgConfig::OPENSSL)
set_property(TARGET PkgConfig::JANSSON PROPERTY INTERFACE_LINK_LIBRARIES ${XL_STATIC_jansson})
set_property(TARGET PkgConfig::YAML PROPERTY INTERFACE_LINK_LIBRARIES ${XL_STATIC_yaml})
