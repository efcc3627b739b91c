# rexec_add_commands(<target> NAME <name> SOURCES <file>... [FLAGS <clang flag>...])
#
# Compiles command sources (REXEC_COMMAND classes) to one LLVM bitcode module at build time and
# embeds it in <target>, so the program can run its commands on a rexec worker without a
# compiler at run time:
#
#   rexec_add_commands(master NAME seed SOURCES commands.cpp)
#   ...
#   #include "seed_bitcode.h"            // generated: std::string_view rexec_bitcode_seed();
#   auto module = rexec::Client::Load(std::string(rexec_bitcode_seed()));
#
# The module is built for this machine's target with clang 19 (-O2 by default), sees <target>'s
# include directories and <rexec/command.h>, and is rebuilt when a source changes.

set(REXEC_COMMANDS_CLANG "/usr/bin/clang++-19" CACHE FILEPATH "clang 19, to build command bitcode")
set(REXEC_COMMANDS_LLVM_LINK "/usr/bin/llvm-link-19" CACHE FILEPATH "llvm-link 19")
set(_rexec_commands_dir "${CMAKE_CURRENT_LIST_DIR}")

function(rexec_add_commands target)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "" "NAME" "SOURCES;FLAGS")
  if(NOT ARG_NAME OR NOT ARG_SOURCES)
    message(FATAL_ERROR "rexec_add_commands(${target} NAME <name> SOURCES <file>...)")
  endif()
  if(NOT ARG_FLAGS)
    set(ARG_FLAGS -O2 -std=c++17)
  endif()
  if(NOT REXEC_COMMAND_INCLUDE_DIR)
    message(FATAL_ERROR "REXEC_COMMAND_INCLUDE_DIR must point at the directory holding rexec/command.h")
  endif()

  set(out_dir "${CMAKE_CURRENT_BINARY_DIR}/rexec_commands_${ARG_NAME}")
  set(includes "$<TARGET_PROPERTY:${target},INCLUDE_DIRECTORIES>")
  set(objects "")
  foreach(source IN LISTS ARG_SOURCES)
    get_filename_component(source_path "${source}" ABSOLUTE)
    get_filename_component(stem "${source}" NAME_WE)
    set(bitcode "${out_dir}/${stem}.bc")
    add_custom_command(
      OUTPUT "${bitcode}"
      COMMAND ${CMAKE_COMMAND} -E make_directory "${out_dir}"
      COMMAND "${REXEC_COMMANDS_CLANG}" ${ARG_FLAGS} -c -emit-llvm
              "-I${REXEC_COMMAND_INCLUDE_DIR}" "$<$<BOOL:${includes}>:-I$<JOIN:${includes},;-I>>"
              -MD -MF "${bitcode}.d" -o "${bitcode}" "${source_path}"
      DEPENDS "${source_path}"
      DEPFILE "${bitcode}.d"
      COMMAND_EXPAND_LISTS
      COMMENT "rexec: compiling ${source} to bitcode"
      VERBATIM)
    list(APPEND objects "${bitcode}")
  endforeach()

  set(module "${out_dir}/${ARG_NAME}.bc")
  add_custom_command(
    OUTPUT "${module}"
    COMMAND "${REXEC_COMMANDS_LLVM_LINK}" -o "${module}" ${objects}
    DEPENDS ${objects}
    COMMENT "rexec: linking the ${ARG_NAME} command module"
    VERBATIM)

  # The module goes into the program with .incbin: no conversion step, any size.
  set(embed_source "${out_dir}/${ARG_NAME}_bitcode.cpp")
  set(embed_header "${out_dir}/${ARG_NAME}_bitcode.h")
  set(REXEC_EMBED_NAME "${ARG_NAME}")
  set(REXEC_EMBED_FILE "${module}")
  configure_file("${_rexec_commands_dir}/embedded_bitcode.cpp.in" "${embed_source}" @ONLY)
  configure_file("${_rexec_commands_dir}/embedded_bitcode.h.in" "${embed_header}" @ONLY)
  set_source_files_properties("${embed_source}" PROPERTIES OBJECT_DEPENDS "${module}")
  target_sources(${target} PRIVATE "${embed_source}")
  target_include_directories(${target} PRIVATE "${out_dir}")
endfunction()
