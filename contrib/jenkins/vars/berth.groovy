// Berth steps for Jenkins pipelines (a shared library: point "Global Pipeline Libraries" at this
// directory, contrib/jenkins, of the Berth repository). One environment per branch, releases into
// it, deleted with the branch. Every step runs `berth-ci` (installed with berth, contrib/ci) on the
// agent: the same commands the GitLab CI template and the GitHub action run, tested end to end by
// tests/e2e/contrib/pipeline_test.cc. The agent needs `berth`, `berth-ci` and `jq`, and reaches
// Berth through BERTH_SERVER + BERTH_TOKEN (a credential) or BERTH_SOCKET.
//
//   def url = berth.up()                      create or reuse this branch's environment
//   berth.up(createArgs: ['--release-mode', 'code', '--ttl', '3d'])
//   berth.deployCode(dir: 'build/site')      code mode: the directory becomes the release
//   berth.deployImage(image: "registry.example/app:${env.GIT_COMMIT}")   image mode
//   berth.down()                              delete it (the cleanup pipeline, or by hand)
//   berth.prune()                             delete the environments of deleted branches

def up(Map args = [:]) {
  return sh(script: 'berth-ci up' + quoted(args.createArgs ?: []), returnStdout: true).trim()
}

def deployCode(Map args = [:]) {
  String dir = args.dir ?: '.'
  return sh(script: 'berth-ci deploy-code' + quoted([dir] + (args.deployArgs ?: [])),
            returnStdout: true).trim()
}

def deployImage(Map args) {
  if (!args?.image) error('berth.deployImage: image is required')
  return sh(script: 'berth-ci deploy-image' + quoted([args.image] + (args.deployArgs ?: [])),
            returnStdout: true).trim()
}

def url() {
  return sh(script: 'berth-ci url', returnStdout: true).trim()
}

def down() {
  sh 'berth-ci down'
}

// The branches that still exist come from the remote, so a branch deleted in Git takes its
// environment with it on the next run of the cleanup pipeline (Jenkinsfile.cleanup).
def prune(String remote = 'origin') {
  sh "git ls-remote --heads ${quoted([remote]).trim()} | berth-ci prune"
}

// Arguments for sh, each single-quoted for the shell: nothing in a branch name, an image
// reference or a message is ever read as shell syntax.
@NonCPS
private static String quoted(List args) {
  return args.collect { ' \'' + it.toString().replace('\'', '\'"\'"\'') + '\'' }.join('')
}
