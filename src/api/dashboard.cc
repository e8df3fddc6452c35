#include "api/dashboard.h"

namespace berth::api {

const std::string& DashboardHtml() {
  static const std::string html = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Berth</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1d232a;background:#f6f7f9}
h1{font-size:1.4rem;margin:0 0 .2rem} .sub{color:#667;margin-bottom:1rem}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}
th,td{padding:.5rem .7rem;text-align:left;border-bottom:1px solid #e4e6ea}
th{background:#eef0f3;font-weight:600} .phase{font-weight:600}
.Running{color:#18794e}.Pending{color:#a35f00}.Failed{color:#c42b1c}.Deleting{color:#666}
.err{color:#c42b1c;font-size:12px} #empty{padding:1rem;color:#667}
</style></head><body>
<h1>Berth</h1><div class="sub" id="info">environments</div>
<table><thead><tr><th>Namespace</th><th>Name</th><th>Image</th><th>Phase</th><th>Host</th>
<th>ssh</th><th>http</th><th>https</th><th>Domains</th><th>Gen</th></tr></thead>
<tbody id="rows"></tbody></table><div id="empty" hidden>No environments yet: <code>berth create NAME --image IMAGE</code></div>
<script>
function cell(tr, text, cls){const td=document.createElement('td');td.textContent=text;if(cls)td.className=cls;tr.appendChild(td);return td;}
async function refresh(){
  try{
    const r=await fetch('/v1/environments');const j=await r.json();
    const tb=document.getElementById('rows');tb.replaceChildren();
    for(const e of j.items){
      const s=e.status||{};const p=s.ports||{};const tr=document.createElement('tr');
      tr.dataset.name=e.spec.name;
      cell(tr,e.spec.namespace);cell(tr,e.spec.name);cell(tr,e.spec.image);
      const ph=cell(tr,(s.phase||'Pending')+(s.routed?' · routed':''),'phase '+(s.phase||'Pending'));
      if(s.last_error){const d=document.createElement('div');d.className='err';d.textContent=s.last_error;ph.appendChild(d);}
      cell(tr,s.host_ip||'');cell(tr,p.ssh||'');cell(tr,p.http||'');cell(tr,p.https||'');
      cell(tr,(e.spec.domains||[]).join(' '));cell(tr,e.spec.generation);
      tb.appendChild(tr);
    }
    document.getElementById('empty').hidden=j.items.length>0;
    document.getElementById('info').textContent=j.items.length+' environment(s) · updated '+new Date().toLocaleTimeString();
  }catch(err){document.getElementById('info').textContent='cannot reach the API: '+err;}
}
refresh();setInterval(refresh,2000);
</script></body></html>
)HTML";
  return html;
}

}  // namespace berth::api
