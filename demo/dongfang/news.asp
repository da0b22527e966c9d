<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">
<html>
<head>
<meta http-equiv="Content-Type" content="text/html; charset=gb2312">
<title>新闻中心-立信机械</title>
</head>
<body>
<table width="960" border="0" align="center" cellpadding="0" cellspacing="0">
<tr><td height="80"><a href="./"><img src="images/logo.gif" alt="立信机械" border="0"></a></td><td align="right">全国服务热线：<b>010-68840752</b></td></tr></table>
<table width="960" border="0" align="center" cellpadding="0" cellspacing="0" bgcolor="#003366"><tr><td height="30" align="center"><a href="./">首页</a> | <a href="about.asp">关于我们</a> | <a href="product.asp">产品展示</a> | <a href="news.asp">新闻中心</a> | <a href="contact.asp">联系我们</a></td></tr></table>
<table width="960" border="0" align="center" cellpadding="0" cellspacing="0">
<tr><td width="200" valign="top"><table width="100%" border="0"><tr><td class="lefttitle"><b>产品展示</b></td></tr><tr><td>·<a href="product.asp?id=1">CK6140数控车床</a></td></tr><tr><td>·<a href="product.asp?id=2">C6132普通车床</a></td></tr></table></td>
<td valign="top"><table width="100%"><tr><td class="weizhi">您的位置：<a href="./">首页</a> &gt; 新闻中心</td></tr></table><table width="100%" class="newslist"><tr><td>·<a href="news_show.asp?id=15">新年致客户的一封信</a></td><td width="90">2023-01-02</td></tr><tr><td>·<a href="news_show.asp?id=14">机床行业迎来智能化改造浪潮</a></td><td width="90">2022-12-01</td></tr><tr><td>·<a href="news_show.asp?id=13">公司召开第四季度生产调度会</a></td><td width="90">2022-11-03</td></tr></table><div align="center" class="page">共5条 第1页 <a href="news.asp?page=2">下一页</a> <a href="news.asp?page=2">尾页</a></div></td></tr></table>
<table width="960" border="0" align="center" cellpadding="0" cellspacing="0"><tr><td align="center" height="60">版权所有：常州立信输送机械有限公司 Copyright &copy; 2003-2023<br>电话：010-68840752 地址：山东省滕州市机床路66号 <a href="https://beian.miit.gov.cn/">鲁ICP备00000003号</a></td></tr></table>
</body>
</html>
